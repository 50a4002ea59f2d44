package dicomio

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"metascope/internal/testdata"
	"metascope/volume"
	"metascope/volume/nifti"
)

// mniCrop is a box of the real MNI head (the NIfTI file gonii ships), read
// with metascope's NIfTI reader and rounded to integers as MR scanners store
// them. The box is not square (nx != ny) and the spacing is anisotropic in
// the tests, so that a swapped row/column or spacing shows.

// readMNI reads the head once per test binary.
var readMNI = func() func(string) (*volume.Volume, error) {
	var once sync.Once
	var v *volume.Volume
	var err error
	return func(path string) (*volume.Volume, error) {
		once.Do(func() { v, err = nifti.ReadVolume(path) })
		return v, err
	}
}()

func mniCrop(t testing.TB, nx, ny, nz int) *volume.Volume {
	t.Helper()
	path := testdata.MNIHead(t)
	full, err := readMNI(path)
	if err != nil {
		t.Fatalf("read MNI head: %v", err)
	}
	d := full.Dims
	if d[0] < nx || d[1] < ny || d[2] < nz {
		t.Fatalf("MNI head %v smaller than crop %d,%d,%d", d, nx, ny, nz)
	}
	ox, oy, oz := (d[0]-nx)/2, (d[1]-ny)/2, (d[2]-nz)/2
	v := volume.New(volume.Grid{Dims: [3]int{nx, ny, nz}, Affine: volume.Identity()})
	for k := range nz {
		for j := range ny {
			for i := range nx {
				v.Set(i, j, k, float32(math.Round(float64(full.At(ox+i, oy+j, oz+k)))))
			}
		}
	}
	lo, hi := v.Range()
	if hi-lo < 10 {
		t.Fatalf("MNI crop is nearly flat (%g..%g): wrong region?", lo, hi)
	}
	return v
}

// lpsAffine builds the RAS+ affine of a series whose rows run along row,
// columns along col and slices along row x col (all LPS unit vectors), with
// spacing sp (column, row, slice) and first voxel at LPS position origin.
func lpsAffine(row, col [3]float64, sp [3]float64, origin [3]float64) volume.Affine {
	n := cross(row, col)
	cols := [4][3]float64{scale(row, sp[0]), scale(col, sp[1]), scale(n, sp[2]), origin}
	a := volume.Identity()
	for r := range 3 {
		s := 1.0
		if r < 2 {
			s = -1
		}
		for c := range 4 {
			a[r][c] = s * cols[c][r]
		}
	}
	return a
}

func rotate(v [3]float64, ax, ay float64) [3]float64 {
	// about x then about y
	y := v[1]*math.Cos(ax) - v[2]*math.Sin(ax)
	z := v[1]*math.Sin(ax) + v[2]*math.Cos(ax)
	x := v[0]
	return [3]float64{x*math.Cos(ay) + z*math.Sin(ay), y, -x*math.Sin(ay) + z*math.Cos(ay)}
}

var orientations = []struct {
	name     string
	row, col [3]float64
}{
	{"axial", [3]float64{1, 0, 0}, [3]float64{0, 1, 0}},
	{"sagittal", [3]float64{0, 1, 0}, [3]float64{0, 0, -1}},
	{"coronal", [3]float64{1, 0, 0}, [3]float64{0, 0, -1}},
	{"double-oblique", rotate([3]float64{1, 0, 0}, 0.3, 0.2), rotate([3]float64{0, 1, 0}, 0.3, 0.2)},
}

// shuffled names files in a random order unrelated to slice position.
func shuffled(n int, seed uint64) func(int) string {
	perm := rand.New(rand.NewPCG(seed, 7)).Perm(n)
	return func(k int) string { return fmt.Sprintf("f%03d", perm[k]) }
}

func scanOne(t *testing.T, dir string) (Series, []FileProblem) {
	t.Helper()
	series, problems, err := Scan(dir)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(series) != 1 {
		t.Fatalf("Scan found %d series, want 1 (problems %v)", len(series), problems)
	}
	return series[0], problems
}

func sameVoxels(t *testing.T, got, want *volume.Volume) {
	t.Helper()
	if got.Dims != want.Dims {
		t.Fatalf("dims %v, want %v", got.Dims, want.Dims)
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			x, y, z := want.Coords(i)
			t.Fatalf("voxel (%d,%d,%d) = %g, want %g", x, y, z, got.Data[i], want.Data[i])
		}
	}
}

func TestRoundTripOrientations(t *testing.T) {
	base := mniCrop(t, 56, 64, 60)
	for oi, o := range orientations {
		t.Run(o.name, func(t *testing.T) {
			v := base.Clone()
			v.Affine = lpsAffine(o.row, o.col, [3]float64{0.9, 1.1, 1.7}, [3]float64{-31.25, 12.5, -40.125})
			dir := t.TempDir()
			opts := WriteOptions{
				Description: "t1_mprage_" + o.name, Slope: 0.5, Intercept: -1024, Signed: true,
				RepetitionTime: 2300, EchoTime: 2.98, InversionTime: 900,
				FileName: shuffled(v.Dims[2], uint64(oi)),
			}
			if err := WriteSeries(dir, v, opts); err != nil {
				t.Fatal(err)
			}
			s, problems := scanOne(t, dir)
			if len(problems) != 0 {
				t.Fatalf("problems: %v", problems)
			}
			if s.Rows != v.Dims[1] || s.Cols != v.Dims[0] || len(s.Files) != v.Dims[2] {
				t.Fatalf("series %dx%d with %d files, want %dx%d with %d", s.Cols, s.Rows, len(s.Files), v.Dims[0], v.Dims[1], v.Dims[2])
			}
			if s.Class != volume.T1 || !s.Known {
				t.Errorf("class %v known %v (%s), want T1", s.Class, s.Known, s.ClassReason)
			}
			got, err := s.Load()
			if err != nil {
				t.Fatal(err)
			}
			if !got.Affine.AlmostEqual(v.Affine, 1e-4) {
				t.Fatalf("affine\n%v\nwant\n%v", got.Affine, v.Affine)
			}
			sameVoxels(t, got, v)
		})
	}
}

// faultSeries writes a 24-slice axial series and returns its directory and
// the volume written.
func faultSeries(t *testing.T) (string, *volume.Volume) {
	t.Helper()
	v := mniCrop(t, 40, 48, 24)
	v.Affine = lpsAffine([3]float64{1, 0, 0}, [3]float64{0, 1, 0}, [3]float64{1, 1, 2}, [3]float64{-20, -24, 10})
	dir := t.TempDir()
	if err := WriteSeries(dir, v, WriteOptions{Description: "AX T2 FSE", EchoTime: 102, RepetitionTime: 4000}); err != nil {
		t.Fatal(err)
	}
	return dir, v
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

func TestMissingSlice(t *testing.T) {
	dir, _ := faultSeries(t)
	if err := os.Remove(filepath.Join(dir, "IM00010.dcm")); err != nil {
		t.Fatal(err)
	}
	s, problems := scanOne(t, dir)
	if len(problems) != 0 || len(s.Files) != 23 {
		t.Fatalf("%d files, problems %v", len(s.Files), problems)
	}
	_, err := s.Load()
	// Slice 10 sits at z = 10 + 2*10 = 30 mm: between 28 and 32.
	wantErr(t, err, "missing slice", "IM00009.dcm", "IM00011.dcm", "30.00 mm", "RAS 20.0, 24.0, 30.0")
}

func TestDuplicateSlice(t *testing.T) {
	dir, _ := faultSeries(t)
	data, err := os.ReadFile(filepath.Join(dir, "IM00005.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "copy-of-5.dcm"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := scanOne(t, dir)
	_, err = s.Load()
	wantErr(t, err, "duplicate slice", "IM00005.dcm", "copy-of-5.dcm")
}

func TestTruncatedFile(t *testing.T) {
	dir, _ := faultSeries(t)
	bad := filepath.Join(dir, "IM00007.dcm")
	fi, err := os.Stat(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(bad, fi.Size()-500); err != nil {
		t.Fatal(err)
	}
	s, problems := scanOne(t, dir)
	if len(problems) != 1 || problems[0].Path != bad {
		t.Fatalf("problems %v, want the truncated file", problems)
	}
	wantErr(t, problems[0].Err, "truncated")
	if len(s.Files) != 23 {
		t.Fatalf("series keeps %d files, want 23", len(s.Files))
	}
	_, err = s.Load()
	wantErr(t, err, "missing slice", "24.00 mm")
}

func TestRandomBytesFileIsSkipped(t *testing.T) {
	dir, want := faultSeries(t)
	junk := make([]byte, 5000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range junk {
		junk[i] = byte(r.Uint32())
	}
	junkPath := filepath.Join(dir, "junk.dcm")
	if err := os.WriteFile(junkPath, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	s, problems := scanOne(t, dir)
	if len(problems) != 1 || problems[0].Path != junkPath {
		t.Fatalf("problems %v, want the junk file", problems)
	}
	wantErr(t, problems[0].Err, "not a DICOM file")
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	sameVoxels(t, got, want)
}
