package dicomio

import (
	"testing"

	"metascope/volume"
)

// small writes a 6-slice series of a real head crop into dir.
func small(t *testing.T, dir string, row, col [3]float64, sp [3]float64, origin [3]float64, opts WriteOptions) *volume.Volume {
	t.Helper()
	v := mniCrop(t, 24, 20, 6)
	v.Affine = lpsAffine(row, col, sp, origin)
	if opts.SeriesUID == "" {
		opts.SeriesUID = "1.2.3.4.5"
	}
	if err := WriteSeries(dir, v, opts); err != nil {
		t.Fatal(err)
	}
	return v
}

var ax, ay, az = [3]float64{1, 0, 0}, [3]float64{0, 1, 0}, [3]float64{0, 0, -1}

func name(prefix string) func(int) string {
	return func(k int) string { return prefix + string(rune('a'+k)) }
}

func loadErr(t *testing.T, dir string) error {
	t.Helper()
	s, problems := scanOne(t, dir)
	if len(problems) != 0 {
		t.Fatalf("problems %v", problems)
	}
	_, err := s.Load()
	return err
}

func TestRefusals(t *testing.T) {
	sp := [3]float64{1, 1, 3}
	t.Run("echoes mixed", func(t *testing.T) {
		dir := t.TempDir()
		small(t, dir, ax, ay, sp, [3]float64{}, WriteOptions{EchoTime: 12, FileName: name("e1")})
		small(t, dir, ax, ay, sp, [3]float64{}, WriteOptions{EchoTime: 90, FileName: name("e2")})
		wantErr(t, loadErr(t, dir), "several echoes", "EchoTime 12 and 90")
	})
	t.Run("mixed orientations", func(t *testing.T) {
		dir := t.TempDir()
		small(t, dir, ax, ay, sp, [3]float64{}, WriteOptions{FileName: name("a")})
		small(t, dir, ay, az, sp, [3]float64{0, 0, 40}, WriteOptions{FileName: name("s")})
		wantErr(t, loadErr(t, dir), "mixed orientations")
	})
	t.Run("three-plane localiser", func(t *testing.T) {
		dir := t.TempDir()
		one := [3]float64{1, 1, 1}
		for i, o := range [][2][3]float64{{ax, ay}, {ay, az}, {ax, az}} {
			v := mniCrop(t, 24, 20, 1)
			v.Affine = lpsAffine(o[0], o[1], one, [3]float64{})
			if err := WriteSeries(dir, v, WriteOptions{SeriesUID: "1.2.3", FileName: name(string(rune('p' + i)))}); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, loadErr(t, dir), "localiser")
	})
	t.Run("ImageType LOCALIZER", func(t *testing.T) {
		dir := t.TempDir()
		small(t, dir, ax, ay, sp, [3]float64{}, WriteOptions{ImageType: []string{"ORIGINAL", "PRIMARY", "LOCALIZER"}})
		wantErr(t, loadErr(t, dir), "localiser")
	})
	t.Run("mixed sizes", func(t *testing.T) {
		dir := t.TempDir()
		small(t, dir, ax, ay, sp, [3]float64{}, WriteOptions{FileName: name("a")})
		v := mniCrop(t, 30, 20, 6)
		v.Affine = lpsAffine(ax, ay, sp, [3]float64{0, 0, 100})
		if err := WriteSeries(dir, v, WriteOptions{SeriesUID: "1.2.3.4.5", FileName: name("b")}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, loadErr(t, dir), "mixed image sizes")
	})
	t.Run("uneven spacing", func(t *testing.T) {
		dir := t.TempDir()
		small(t, dir, ax, ay, sp, [3]float64{}, WriteOptions{FileName: name("a")})                            // z 0..15
		small(t, dir, ax, ay, [3]float64{1, 1, 3.6}, [3]float64{0, 0, 18}, WriteOptions{FileName: name("b")}) // z 18, 21.6, ...
		wantErr(t, loadErr(t, dir), "uneven slice spacing")
	})
}

// Every transfer syntax WriteSeries writes reads back to the same voxels,
// for signed and unsigned stored values.
func TestTransferSyntaxesRoundTrip(t *testing.T) {
	for _, ts := range []string{ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, RLELossless, JPEGLosslessSV1} {
		for _, signed := range []bool{false, true} {
			dir := t.TempDir()
			inter := 0.0
			if signed {
				inter = 50 // stored values go negative
			}
			want := small(t, dir, ax, az, [3]float64{0.7, 0.8, 4}, [3]float64{5, 6, 7}, WriteOptions{TransferSyntax: ts, Signed: signed, Intercept: inter})
			s, problems := scanOne(t, dir)
			if len(problems) != 0 {
				t.Fatalf("%s: problems %v", ts, problems)
			}
			if s.TransferSyntax != ts {
				t.Fatalf("series transfer syntax %s, want %s", s.TransferSyntax, ts)
			}
			got, err := s.Load()
			if err != nil {
				t.Fatalf("%s signed=%v: %v", ts, signed, err)
			}
			if !got.Affine.AlmostEqual(want.Affine, 1e-4) {
				t.Fatalf("%s: affine %v, want %v", ts, got.Affine, want.Affine)
			}
			sameVoxels(t, got, want)
		}
	}
}

func TestWriteRefusesValuesThatDoNotFit(t *testing.T) {
	v := mniCrop(t, 8, 8, 2)
	v.Data[3] = -5
	err := WriteSeries(t.TempDir(), v, WriteOptions{})
	wantErr(t, err, "does not fit uint16")
	if err := WriteSeries(t.TempDir(), v, WriteOptions{TransferSyntax: "1.2.840.10008.1.2.4.90"}); err == nil {
		t.Fatal("JPEG 2000 writing accepted")
	}
}

// A left-handed affine (LAS, as FSL writes) has slices running against the
// DICOM slice normal: Load orders them along the normal, so k is reversed,
// but every voxel keeps its world position.
func TestLeftHandedVolumeKeepsWorldPositions(t *testing.T) {
	v := mniCrop(t, 24, 20, 6)
	// LAS: i runs to patient left, j anterior, k superior; DICOM's normal
	// (row x column in LPS) then points inferior, against k.
	v.Affine = volume.Affine{{-1.5, 0, 0, -10}, {0, 1.2, 0, -20}, {0, 0, 2.5, 5}, {0, 0, 0, 1}}
	dir := t.TempDir()
	if err := WriteSeries(dir, v, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s, _ := scanOne(t, dir)
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	nz := v.Dims[2]
	for k := range nz {
		for j := range v.Dims[1] {
			for i := range v.Dims[0] {
				if got.At(i, j, nz-1-k) != v.At(i, j, k) {
					t.Fatalf("voxel (%d,%d,%d) moved", i, j, k)
				}
				a, b := v.VoxelToWorld([3]float64{float64(i), float64(j), float64(k)}), got.VoxelToWorld([3]float64{float64(i), float64(j), float64(nz - 1 - k)})
				if norm(sub(a, b)) > 1e-4 {
					t.Fatalf("voxel (%d,%d,%d) at %v, read back at %v", i, j, k, a, b)
				}
			}
		}
	}
}
