package nifti

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"metascope/internal/testdata"
	"metascope/volume"
)

// gunzipFile returns the decompressed bytes of a gonii test file, decoded
// with the standard library independently of the package under test.
func gunzipFile(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawVoxel decodes voxel (i,j,k) straight from the file bytes at the offset
// the header fields imply.
func rawVoxel(data []byte, order binary.ByteOrder, voxOffset int, dims [3]int, datatype int, ijk [3]int) float64 {
	size := map[int]int{2: 1, 4: 2, 16: 4, 64: 8}[datatype]
	off := voxOffset + (ijk[0]+dims[0]*(ijk[1]+dims[1]*ijk[2]))*size
	b := data[off : off+size]
	switch datatype {
	case 2:
		return float64(b[0])
	case 4:
		return float64(int16(order.Uint16(b)))
	case 16:
		return float64(math.Float32frombits(order.Uint32(b)))
	case 64:
		return math.Float64frombits(order.Uint64(b))
	}
	panic("datatype")
}

// TestGoniiTestData reads every file gonii ships and checks dims, the affine
// worked out by hand from each header's fields, and voxels against values
// decoded from the raw bytes.
func TestGoniiTestData(t *testing.T) {
	type voxel struct {
		ijk  [3]int
		want float64 // value read by hand from the raw bytes
	}
	cases := []struct {
		file, dataFile string
		order          binary.ByteOrder
		version        int
		dims           [3]int
		datatype       int
		voxOffset      int
		source         string
		affine         volume.Affine
		voxels         []voxel
		refuse         string // expected error text for files that are not one 3D scalar image
	}{
		{
			// qform only: quatern (b,c,d) = (0,0,1) so a = 0 and R = diag(-1,-1,1);
			// qfac 1, pixdim 1, qoffset (0, 239, 0).
			file: "int16.nii.gz", order: binary.LittleEndian, version: 1, dims: [3]int{240, 240, 155},
			datatype: 4, voxOffset: 352, source: "qform",
			affine: volume.Affine{{-1, 0, 0, 0}, {0, -1, 0, 239}, {0, 0, 1, 0}, {0, 0, 0, 1}},
			voxels: []voxel{{[3]int{120, 120, 77}, 62}, {[3]int{80, 120, 77}, 162}, {[3]int{10, 20, 30}, 0}},
		},
		{
			file: "nii2_LR.nii.gz", order: binary.LittleEndian, version: 2, dims: [3]int{91, 109, 91},
			datatype: 16, voxOffset: 544, source: "sform",
			affine: volume.Affine{{-2, 0, 0, 90}, {0, 2, 0, -126}, {0, 0, 2, -72}, {0, 0, 0, 1}},
			voxels: []voxel{{[3]int{45, 54, 45}, 121}, {[3]int{30, 54, 45}, 255}, {[3]int{10, 20, 30}, 16}},
		},
		{
			file: "nii2_RL.nii.gz", order: binary.LittleEndian, version: 2, dims: [3]int{91, 109, 91},
			datatype: 16, voxOffset: 544, source: "sform",
			affine: volume.Affine{{2, 0, 0, -90}, {0, 2, 0, -126}, {0, 0, 2, -72}, {0, 0, 0, 1}},
			voxels: []voxel{{[3]int{45, 54, 45}, 121}, {[3]int{30, 54, 45}, 149}, {[3]int{10, 20, 30}, 17}},
		},
		{
			file: "nii2_mni.nii.gz", order: binary.LittleEndian, version: 2, dims: [3]int{182, 218, 182},
			datatype: 16, voxOffset: 544, source: "sform",
			affine: volume.Affine{{-1, 0, 0, 90}, {0, 1, 0, -126}, {0, 0, 1, -72}, {0, 0, 0, 1}},
			voxels: []voxel{{[3]int{91, 109, 91}, 6105}, {[3]int{60, 109, 91}, 7323}, {[3]int{10, 20, 30}, 528}},
		},
		{
			file: "tensor_tr.nii.gz", order: binary.LittleEndian, version: 1, dims: [3]int{112, 112, 60},
			datatype: 16, voxOffset: 352, source: "sform",
			affine: volume.Affine{{-2, 0, 0, 111.31999969482422}, {0, 2, 0, -64.80000305175781}, {0, 0, 2, -49.560001373291016}, {0, 0, 0, 1}},
			voxels: []voxel{{[3]int{56, 56, 30}, 2.607916831970215}, {[3]int{37, 56, 30}, 2.2504591941833496}},
		},
		{
			// Big-endian .hdr/.img pair, both gzipped, vox_offset 0 in the .img.
			file: "t1.hdr.gz", dataFile: "t1.img.gz", order: binary.BigEndian, version: 1, dims: [3]int{91, 109, 91},
			datatype: 2, voxOffset: 0, source: "sform",
			affine: volume.Affine{{-2, 0, 0, 90}, {0, 2, 0, -126}, {0, 0, 2, -72}, {0, 0, 0, 1}},
			voxels: []voxel{{[3]int{45, 54, 45}, 121}, {[3]int{30, 54, 45}, 255}, {[3]int{10, 20, 30}, 16}},
		},
		{
			// The same pair named by its image file.
			file: "t1.img.gz", dataFile: "t1.img.gz", order: binary.BigEndian, version: 1, dims: [3]int{91, 109, 91},
			datatype: 2, voxOffset: 0, source: "sform",
			affine: volume.Affine{{-2, 0, 0, 90}, {0, 2, 0, -126}, {0, 0, 2, -72}, {0, 0, 0, 1}},
			voxels: []voxel{{[3]int{45, 54, 45}, 121}},
		},
		{
			// qform (b,c,d) = (1,0,0): R = diag(1,-1,-1), pixdim .388672 x2, 10.
			file: "rgb24.nii.gz", version: 1, dims: [3]int{512, 512, 2}, source: "qform",
			affine: volume.Affine{{0.38867199420928955, 0, 0, -99.5}, {0, -0.38867199420928955, 0, 301.5}, {0, 0, -10, -149}, {0, 0, 0, 1}},
			refuse: "datatype rgb24 is not supported",
		},
		{
			file: "tensor_rgb.nii.gz", version: 1, dims: [3]int{112, 112, 60}, source: "sform",
			affine: volume.Affine{{-2, 0, 0, 111.31999969482422}, {0, 2, 0, -64.80000305175781}, {0, 0, 2, -49.560001373291016}, {0, 0, 0, 1}},
			refuse: "3 components along dimension 5",
		},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := testdata.GoniiFile(t, c.file)
			h, err := ReadHeader(path)
			if err != nil {
				t.Fatal(err)
			}
			if h.Version != c.version || h.Dims != c.dims || h.AffineSource != c.source {
				t.Fatalf("header: version %d dims %v source %s; want %d %v %s", h.Version, h.Dims, h.AffineSource, c.version, c.dims, c.source)
			}
			if !h.Affine.AlmostEqual(c.affine, 1e-6) {
				t.Fatalf("header affine\n%v\nwant\n%v", h.Affine, c.affine)
			}
			v, err := ReadVolume(path)
			if c.refuse != "" {
				if err == nil || !strings.Contains(err.Error(), c.refuse) || !strings.Contains(err.Error(), c.file) {
					t.Fatalf("ReadVolume error %v; want one naming the file and %q", err, c.refuse)
				}
				if h.Readable {
					t.Fatalf("header says readable for a file ReadVolume refuses")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Dims != c.dims || !v.Affine.AlmostEqual(c.affine, 1e-6) {
				t.Fatalf("volume dims %v affine %v", v.Dims, v.Affine)
			}
			raw := gunzipFile(t, testdata.GoniiFile(t, c.file))
			if c.dataFile != "" {
				raw = gunzipFile(t, testdata.GoniiFile(t, c.dataFile))
			}
			for _, vx := range c.voxels {
				fromBytes := rawVoxel(raw, c.order, c.voxOffset, c.dims, c.datatype, vx.ijk)
				if fromBytes != vx.want {
					t.Fatalf("test table: raw bytes at %v hold %v, table says %v", vx.ijk, fromBytes, vx.want)
				}
				if got := float64(v.At(vx.ijk[0], vx.ijk[1], vx.ijk[2])); math.Abs(got-vx.want) > 1e-6 {
					t.Errorf("voxel %v = %v; want %v", vx.ijk, got, vx.want)
				}
			}
			// Every voxel agrees with the raw bytes, not just the chosen ones.
			for idx := 0; idx < len(v.Data); idx += 997 {
				i, j, k := v.Coords(idx)
				if want := rawVoxel(raw, c.order, c.voxOffset, c.dims, c.datatype, [3]int{i, j, k}); float64(v.Data[idx]) != float64(float32(want)) {
					t.Fatalf("voxel %d,%d,%d = %v; raw bytes say %v", i, j, k, v.Data[idx], want)
				}
			}
		})
	}
}

// TestQformOfMNIMatchesSform clears the MNI head's sform_code: the affine
// must then come from the quaternion (b,c,d) = (0,1,0) with qfac -1, which
// the standard makes equal to the sform. gonii's 1.01 constant would not.
func TestQformOfMNIMatchesSform(t *testing.T) {
	raw := gunzipFile(t, testdata.MNIHead(t))
	binary.LittleEndian.PutUint32(raw[348:], 0) // NIfTI-2 sform_code
	for i := 400; i < 496; i++ {                // scribble over srow_*
		raw[i] = 0xff
	}
	path := filepath.Join(t.TempDir(), "mni_qform.nii")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := ReadVolume(path)
	if err != nil {
		t.Fatal(err)
	}
	want := volume.Affine{{-1, 0, 0, 90}, {0, 1, 0, -126}, {0, 0, 1, -72}, {0, 0, 0, 1}}
	if !v.Affine.AlmostEqual(want, 1e-12) {
		t.Fatalf("qform affine %v; want %v", v.Affine, want)
	}
	h, _ := ReadHeader(path)
	if h.AffineSource != SourceQform {
		t.Fatalf("source %s", h.AffineSource)
	}
	// With qform_code 0 as well, the pixdim diagonal remains.
	binary.LittleEndian.PutUint32(raw[344:], 0)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err = ReadVolume(path); err != nil {
		t.Fatal(err)
	}
	if !v.Affine.AlmostEqual(volume.Identity(), 0) {
		t.Fatalf("pixdim affine %v; want identity (pixdim 1 1 1)", v.Affine)
	}
}

// TestUncompressedPair reads t1 as a plain .hdr/.img pair.
func TestUncompressedPair(t *testing.T) {
	dir := t.TempDir()
	hdr := gunzipFile(t, testdata.GoniiFile(t, "t1.hdr.gz"))
	img := gunzipFile(t, testdata.GoniiFile(t, "t1.img.gz"))
	os.WriteFile(filepath.Join(dir, "t1.hdr"), hdr, 0o644)
	os.WriteFile(filepath.Join(dir, "t1.img"), img, 0o644)
	a, err := ReadVolume(filepath.Join(dir, "t1.img"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadVolume(testdata.GoniiFile(t, "t1.hdr.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if !a.SameGeometry(b.Grid, 0) || !equalF32(a.Data, b.Data) {
		t.Fatal("plain pair differs from gzipped pair")
	}
	os.Remove(filepath.Join(dir, "t1.img"))
	if _, err := ReadVolume(filepath.Join(dir, "t1.hdr")); err == nil || !strings.Contains(err.Error(), "t1.img") {
		t.Fatalf("missing .img: %v", err)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// obliqueGrid is a double-oblique, anisotropic grid with a negative
// determinant (a left-handed voxel order, as DICOM often stores).
func obliqueGrid(dims [3]int) volume.Grid {
	rot := volume.RigidTransform([3]float64{0.3, -0.2, 0.7}, [3]float64{-80.25, 12.5, 33}, [3]float64{})
	scale := volume.Affine{{-0.9, 0, 0, 0}, {0, 1.1, 0, 0}, {0, 0, 3.3, 0}, {0, 0, 0, 1}}
	return volume.Grid{Dims: dims, Affine: rot.Mul(scale)}
}

func testVolume(g volume.Grid) *volume.Volume {
	v := volume.New(g)
	for idx := range v.Data {
		i, j, k := v.Coords(idx)
		v.Data[idx] = float32(math.Sin(float64(i)*0.3)*100+float64(j*k)) - 17.25
	}
	return v
}

// patchNii1 rewrites fields of an uncompressed NIfTI-1 file written by us.
func patchNii1(t *testing.T, path string, patch func(b []byte)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	patch(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrips(t *testing.T) {
	grids := map[string]volume.Grid{
		"oblique":   obliqueGrid([3]int{13, 11, 7}),
		"canonical": {Dims: [3]int{9, 8, 5}, Affine: volume.Diagonal([3]float64{0.5, 0.75, 2}, [3]float64{-10, 20, 30.5})},
		"flipped":   {Dims: [3]int{4, 6, 5}, Affine: volume.Affine{{0, 0, -1, 90}, {-1.2, 0, 0, 100}, {0, 1, 0, -50}, {0, 0, 0, 1}}},
	}
	for name, g := range grids {
		for _, ext := range []string{".nii", ".nii.gz"} {
			t.Run(name+ext, func(t *testing.T) {
				dir := t.TempDir()
				v := testVolume(g)
				p := filepath.Join(dir, "f"+ext)
				if err := WriteVolume(p, v); err != nil {
					t.Fatal(err)
				}
				back, err := ReadVolume(p)
				if err != nil {
					t.Fatal(err)
				}
				if back.Dims != v.Dims || !back.Affine.AlmostEqual(v.Affine, 1e-5) || !equalF32(back.Data, v.Data) {
					t.Fatalf("float32 round trip changed data or affine:\n%v\n%v", back.Affine, v.Affine)
				}

				pi := filepath.Join(dir, "i"+ext)
				if err := WriteVolumeInt16(pi, v); err != nil {
					t.Fatal(err)
				}
				bi, err := ReadVolume(pi)
				if err != nil {
					t.Fatal(err)
				}
				for idx, x := range v.Data {
					if bi.Data[idx] != float32(math.RoundToEven(float64(x))) {
						t.Fatalf("int16 voxel %d = %v; want round(%v)", idx, bi.Data[idx], x)
					}
				}
				if !bi.Affine.AlmostEqual(v.Affine, 1e-5) {
					t.Fatal("int16 affine changed")
				}

				l := volume.NewLabel(g)
				for idx := range l.Data {
					l.Data[idx] = uint8(idx * 7 % 256)
				}
				pl := filepath.Join(dir, "l"+ext)
				if err := WriteLabel(pl, l); err != nil {
					t.Fatal(err)
				}
				bl, err := ReadLabel(pl)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(bl.Data, l.Data) || !bl.Affine.AlmostEqual(l.Affine, 1e-5) {
					t.Fatal("label round trip changed data or affine")
				}
				h, err := ReadHeader(pl)
				if err != nil || h.Datatype != "uint8" || h.SformCode != 1 || h.QformCode != 1 {
					t.Fatalf("label header %+v %v", h, err)
				}
			})
		}
	}
}

// TestWrittenQformMatchesSform checks that the quaternion we write encodes
// the same affine as the sform, so readers that prefer the qform (ITK) agree:
// clearing sform_code and scribbling over srow must not change the affine.
func TestWrittenQformMatchesSform(t *testing.T) {
	for _, g := range []volume.Grid{
		obliqueGrid([3]int{5, 4, 3}),
		{Dims: [3]int{3, 3, 3}, Affine: volume.Diagonal([3]float64{-1, -1, 1}, [3]float64{1, 2, 3})}, // a=0 branch (180°)
		{Dims: [3]int{3, 3, 3}, Affine: volume.Affine{{0, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, -1, 0}, {0, 0, 0, 1}}},
		{Dims: [3]int{3, 3, 3}, Affine: volume.Affine{{0, 0, 2, 0}, {-3, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 0, 1}}},
	} {
		p := filepath.Join(t.TempDir(), "q.nii")
		if err := WriteVolume(p, testVolume(g)); err != nil {
			t.Fatal(err)
		}
		patchNii1(t, p, func(b []byte) {
			binary.LittleEndian.PutUint16(b[254:], 0)
			for i := 280; i < 328; i++ {
				b[i] = 0x7f
			}
		})
		back, err := ReadVolume(p)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Affine.AlmostEqual(g.Affine, 1e-5) {
			t.Errorf("qform-only affine\n%v\nwant\n%v", back.Affine, g.Affine)
		}
	}
}

// TestScalingAndNIfTI2 checks scl_slope/inter, and that a dimension too
// large for NIfTI-1 makes the writer choose NIfTI-2.
func TestScalingAndNIfTI2(t *testing.T) {
	g := volume.Grid{Dims: [3]int{4, 3, 2}, Affine: volume.Identity()}
	v := testVolume(g)
	p := filepath.Join(t.TempDir(), "s.nii")
	if err := WriteVolumeInt16(p, v); err != nil {
		t.Fatal(err)
	}
	patchNii1(t, p, func(b []byte) {
		binary.LittleEndian.PutUint32(b[112:], math.Float32bits(2.5))
		binary.LittleEndian.PutUint32(b[116:], math.Float32bits(-4))
	})
	back, err := ReadVolume(p)
	if err != nil {
		t.Fatal(err)
	}
	for idx, x := range v.Data {
		if want := float32(math.RoundToEven(float64(x))*2.5 - 4); back.Data[idx] != want {
			t.Fatalf("scaled voxel %d = %v; want %v", idx, back.Data[idx], want)
		}
	}
	// Scaled to non-integers is not a label map.
	if _, err := ReadLabel(p); err == nil || !strings.Contains(err.Error(), "not a label map") {
		t.Fatalf("ReadLabel of scaled data: %v", err)
	}

	wide := volume.Grid{Dims: [3]int{40000, 2, 1}, Affine: volume.Diagonal([3]float64{0.1, 1, 1}, [3]float64{})}
	wv := testVolume(wide)
	pw := filepath.Join(t.TempDir(), "wide.nii.gz")
	if err := WriteVolume(pw, wv); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(pw)
	if err != nil || h.Version != 2 {
		t.Fatalf("wide header %+v %v", h, err)
	}
	bw, err := ReadVolume(pw)
	if err != nil || !equalF32(bw.Data, wv.Data) {
		t.Fatalf("NIfTI-2 round trip: %v", err)
	}
}

// craft builds a NIfTI-1 single file by hand: header fields at their
// standard byte offsets, then data.
type craft struct {
	order      binary.ByteOrder
	dim        [8]int16
	datatype   int16
	bitpix     int16
	voxOffset  float32
	slope      float32
	magic      string
	data       []byte
	qformCode  int16
	sformCode  int16
	pixdim     [8]float32
	sformScale float32
}

func (c craft) bytes() []byte {
	if c.order == nil {
		c.order = binary.LittleEndian
	}
	if c.magic == "" {
		c.magic = "n+1"
	}
	if c.voxOffset == 0 {
		c.voxOffset = 352
	}
	b := make([]byte, 352)
	o := c.order
	o.PutUint32(b[0:], 348)
	for i, d := range c.dim {
		o.PutUint16(b[40+2*i:], uint16(d))
	}
	o.PutUint16(b[70:], uint16(c.datatype))
	o.PutUint16(b[72:], uint16(c.bitpix))
	for i, p := range c.pixdim {
		o.PutUint32(b[76+4*i:], math.Float32bits(p))
	}
	o.PutUint32(b[108:], math.Float32bits(c.voxOffset))
	o.PutUint32(b[112:], math.Float32bits(c.slope))
	o.PutUint16(b[252:], uint16(c.qformCode))
	o.PutUint16(b[254:], uint16(c.sformCode))
	if c.sformCode > 0 {
		s := c.sformScale
		o.PutUint32(b[280:], math.Float32bits(s))
		o.PutUint32(b[296+4:], math.Float32bits(s))
		o.PutUint32(b[312+8:], math.Float32bits(s))
	}
	copy(b[344:], c.magic)
	return append(b, c.data...)
}

// TestDatatypes reads every supported datatype in both byte orders from
// files crafted byte by byte.
func TestDatatypes(t *testing.T) {
	vals := []float64{0, 1, 7, 100, 127}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, dt := range []struct {
			code int16
			size int
			put  func(b []byte, x float64)
			neg  bool
		}{
			{2, 1, func(b []byte, x float64) { b[0] = uint8(x) }, false},
			{256, 1, func(b []byte, x float64) { b[0] = uint8(int8(x)) }, true},
			{4, 2, func(b []byte, x float64) { order.PutUint16(b, uint16(int16(x))) }, true},
			{512, 2, func(b []byte, x float64) { order.PutUint16(b, uint16(x)) }, false},
			{8, 4, func(b []byte, x float64) { order.PutUint32(b, uint32(int32(x))) }, true},
			{768, 4, func(b []byte, x float64) { order.PutUint32(b, uint32(x)) }, false},
			{1024, 8, func(b []byte, x float64) { order.PutUint64(b, uint64(int64(x))) }, true},
			{16, 4, func(b []byte, x float64) { order.PutUint32(b, math.Float32bits(float32(x))) }, true},
			{64, 8, func(b []byte, x float64) { order.PutUint64(b, math.Float64bits(x)) }, true},
		} {
			want := append([]float64(nil), vals...)
			if dt.neg {
				want[0] = -5
			}
			data := make([]byte, len(want)*dt.size)
			for i, x := range want {
				dt.put(data[i*dt.size:], x)
			}
			c := craft{order: order, dim: [8]int16{3, 5, 1, 1, 1, 1, 1, 1}, datatype: dt.code, bitpix: int16(8 * dt.size),
				data: data, sformCode: 1, sformScale: 2}
			p := filepath.Join(t.TempDir(), "d.nii")
			os.WriteFile(p, c.bytes(), 0o644)
			v, err := ReadVolume(p)
			if err != nil {
				t.Fatalf("datatype %d %v: %v", dt.code, order, err)
			}
			for i, x := range want {
				if float64(v.Data[i]) != x {
					t.Fatalf("datatype %d %v voxel %d = %v; want %v", dt.code, order, i, v.Data[i], x)
				}
			}
			if v.Affine[1][1] != 2 {
				t.Fatalf("sform not used: %v", v.Affine)
			}
			l, err := ReadLabel(p)
			if dt.neg {
				if err == nil {
					t.Fatalf("datatype %d: negative label accepted", dt.code)
				}
			} else if err != nil || l.Data[4] != 127 {
				t.Fatalf("datatype %d label: %v", dt.code, err)
			}
		}
	}
}

// TestBadInput: every broken file gives an error naming it, never a panic
// or a giant allocation.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := craft{dim: [8]int16{3, 4, 4, 4, 1, 1, 1, 1}, datatype: 16, bitpix: 32, data: make([]byte, 4*64)}
	for i := range good.data {
		good.data[i] = byte(i * 37 % 251) // incompressible enough that truncating the gzip cuts data
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	huge := good
	huge.dim = [8]int16{3, 30000, 30000, 30000, 1, 1, 1, 1}
	huge.datatype, huge.bitpix = 4, 16
	big := good // 1000^3 float32 = 4 GB claimed by a tiny gzip file
	big.dim = [8]int16{3, 1000, 1000, 1000, 1, 1, 1, 1}
	badOffset := good
	badOffset.voxOffset = 100
	farOffset := good
	farOffset.voxOffset = 1 << 20
	fracOffset := good
	fracOffset.voxOffset = 352.5
	fourD := good
	fourD.dim = [8]int16{4, 4, 4, 2, 2, 1, 1, 1}
	complexDT := good
	complexDT.datatype, complexDT.bitpix = 32, 64
	zeroDim := good
	zeroDim.dim = [8]int16{3, 4, 0, 4, 1, 1, 1, 1}
	analyze := good
	analyze.magic = "\x00\x00\x00"
	pairMagic := good
	pairMagic.magic = "ni1"
	singular := good
	singular.sformCode = 1 // srow all zero except scale 0
	goodBytes := good.bytes()
	files := []struct {
		name, want string
		data       []byte
	}{
		{"empty.nii", "empty", nil},
		{"garbage.nii", "not a NIfTI file", []byte("this is not an image at all, just words and more words")},
		{"truncated.nii", "truncated", goodBytes[:len(goodBytes)-10]},
		{"truncated-header.nii", "truncated", goodBytes[:200]},
		{"truncated.nii.gz", "truncated", gz(goodBytes)[:len(gz(goodBytes))-40]},
		{"huge.nii", "more than", huge.bytes()},
		{"big.nii.gz", "gzip file can hold", gz(big.bytes())},
		{"big.nii", "truncated", big.bytes()},
		{"badoffset.nii", "vox_offset", badOffset.bytes()},
		{"faroffset.nii", "truncated", farOffset.bytes()},
		{"fracoffset.nii", "vox_offset", fracOffset.bytes()},
		{"fourd.nii", "2 time points", fourD.bytes()},
		{"complex.nii", "complex64", complexDT.bytes()},
		{"zerodim.nii", "dim[2] is 0", zeroDim.bytes()},
		{"analyze.nii", "Analyze", analyze.bytes()},
		{"pair.nii", "separate .img", pairMagic.bytes()},
		{"singular.nii", "singular", singular.bytes()},
		{"badgzip.nii.gz", "gzip", append([]byte{0x1f, 0x8b, 8}, make([]byte, 30)...)},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadVolume(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), f.want) {
			t.Errorf("%s: error %v; want one naming the file and containing %q", f.name, err, f.want)
		}
		if _, err := ReadLabel(p); err == nil {
			t.Errorf("%s: ReadLabel accepted it", f.name)
		}
	}
	if _, err := ReadVolume(filepath.Join(dir, "missing.nii")); err == nil || !strings.Contains(err.Error(), "missing.nii") {
		t.Errorf("missing file: %v", err)
	}
	// The good file itself reads: the failures above are not from the craft.
	p := filepath.Join(dir, "good.nii")
	os.WriteFile(p, goodBytes, 0o644)
	if _, err := ReadVolume(p); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRefusesBadNameAndIsAtomic(t *testing.T) {
	v := testVolume(volume.Grid{Dims: [3]int{2, 2, 2}, Affine: volume.Identity()})
	dir := t.TempDir()
	if err := WriteVolume(filepath.Join(dir, "x.img"), v); err == nil {
		t.Fatal("wrote a .img")
	}
	if err := WriteVolume(filepath.Join(dir, "nodir", "x.nii"), v); err == nil {
		t.Fatal("wrote into a missing folder")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("left files behind: %v", entries)
	}
}

func FuzzReadVolume(f *testing.F) {
	g := volume.Grid{Dims: [3]int{3, 2, 2}, Affine: obliqueGrid([3]int{3, 2, 2}).Affine}
	dir := f.TempDir()
	for _, name := range []string{"a.nii", "a.nii.gz"} {
		p := filepath.Join(dir, name)
		if err := WriteVolumeInt16(p, testVolume(g)); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add(craft{dim: [8]int16{3, 2, 2, 2, 1, 1, 1, 1}, datatype: 64, bitpix: 64, data: make([]byte, 64), qformCode: 1}.bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "f.nii")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := ReadVolume(p)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("recovered panic: %v", err)
			}
			return
		}
		if len(v.Data) != v.Len() || v.Grid.Validate() != nil {
			t.Fatalf("inconsistent volume %v %d", v.Dims, len(v.Data))
		}
		if _, err := ReadHeader(p); err != nil {
			t.Fatalf("ReadVolume read it but ReadHeader failed: %v", err)
		}
	})
}

// BenchmarkReadNiiGz and BenchmarkWriteNiiGz use the 240x240x155 brain
// shipped with gonii, as float32.
func benchVolume(b *testing.B) *volume.Volume {
	v, err := ReadVolume(testdata.GoniiFile(b, "int16.nii.gz"))
	if err != nil {
		b.Fatal(err)
	}
	return v
}

func BenchmarkWriteNiiGz(b *testing.B) {
	v := benchVolume(b)
	p := filepath.Join(b.TempDir(), "w.nii.gz")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := WriteVolume(p, v); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, v)
}

func BenchmarkReadNiiGz(b *testing.B) {
	v := benchVolume(b)
	p := filepath.Join(b.TempDir(), "r.nii.gz")
	if err := WriteVolume(p, v); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ReadVolume(p); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, v)
}

func reportRate(b *testing.B, v *volume.Volume) {
	s := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(len(v.Data))/s, "voxels/s")
	b.ReportMetric(float64(4*len(v.Data))/s/1e6, "MB/s")
}

// TestGzipChecksumIsVerified flips a bit of the gzip CRC: the voxels decode,
// but the file is corrupt and must be refused.
func TestGzipChecksumIsVerified(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.nii.gz")
	if err := WriteVolume(p, testVolume(obliqueGrid([3]int{8, 8, 8}))); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	b[len(b)-8] ^= 1
	os.WriteFile(p, b, 0o644)
	if _, err := ReadVolume(p); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("corrupt CRC: %v", err)
	}
}

// TestNibabelFiles reads files nibabel 5.0 wrote (testdata/nibabel, see
// generate.py there): every datatype, qform-only, sform over qform, scaling,
// big endian, NIfTI-2, a .hdr/.img pair and 4D with one volume must give the
// affine and voxels nibabel itself reads back.
func TestNibabelFiles(t *testing.T) {
	dir := filepath.Join("testdata", "nibabel")
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string]struct {
		Affine volume.Affine
		Dims   [3]int
		Data   []float64
	}
	if err := json.Unmarshal(b, &expected); err != nil {
		t.Fatal(err)
	}
	if len(expected) != 15 {
		t.Fatalf("expected.json lists %d files", len(expected))
	}
	for name, e := range expected {
		v, err := ReadVolume(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if v.Dims != e.Dims || !v.Affine.AlmostEqual(e.Affine, 1e-5) {
			t.Errorf("%s: dims %v affine\n%v\nnibabel: %v\n%v", name, v.Dims, v.Affine, e.Dims, e.Affine)
		}
		for i, want := range e.Data {
			if math.Abs(float64(v.Data[i])-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: voxel %d = %v; nibabel %v", name, i, v.Data[i], want)
				break
			}
		}
	}
}

// nibabelCheck reads files with nibabel and prints, per file, the largest
// differences of its best affine, qform and sform from the expected affine.
const nibabelCheck = `
import json, sys
import nibabel as nib, numpy as np
for f, a in json.load(sys.stdin).items():
    img = nib.load(f)
    h = img.header
    a = np.array(a)
    print(json.dumps({"file": f, "best": float(abs(img.affine - a).max()),
        "qform": float(abs(h.get_qform() - a).max()), "sform": float(abs(h.get_sform() - a).max()),
        "codes": [int(h["qform_code"]), int(h["sform_code"])]}))
`

// TestNibabelReadsOurFiles writes oblique, flipped and 180-degree affines and
// has nibabel (Debian's python3-nibabel, skipped when absent) read them: its
// best affine, qform and sform must all be ours.
func TestNibabelReadsOurFiles(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import nibabel").Run(); err != nil {
		t.Skip("python3-nibabel not installed")
	}
	dir := t.TempDir()
	affines := map[string]volume.Affine{
		"oblique.nii.gz": obliqueGrid([3]int{1, 1, 1}).Affine,
		"flip.nii":       {{0, 0, -1, 90}, {-1.2, 0, 0, 100}, {0, 1, 0, -50}, {0, 0, 0, 1}},
		"r180.nii.gz":    {{1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, -1, 0}, {0, 0, 0, 1}},
	}
	want := map[string]volume.Affine{}
	for name, a := range affines {
		p := filepath.Join(dir, name)
		if err := WriteVolume(p, testVolume(volume.Grid{Dims: [3]int{5, 4, 3}, Affine: a})); err != nil {
			t.Fatal(err)
		}
		want[p] = a
	}
	in, _ := json.Marshal(want)
	cmd := exec.Command("/usr/bin/python3", "-c", nibabelCheck)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nibabel: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(affines) {
		t.Fatalf("nibabel output:\n%s", out)
	}
	for _, l := range lines {
		var r struct {
			File               string
			Best, Qform, Sform float64
			Codes              [2]int
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Best > 1e-5 || r.Qform > 1e-5 || r.Sform > 1e-5 || r.Codes != [2]int{1, 1} {
			t.Errorf("nibabel reads %s off by best %g, qform %g, sform %g (codes %v)", filepath.Base(r.File), r.Best, r.Qform, r.Sform, r.Codes)
		}
	}
}

// TestLyingHeaderAllocatesLittle: a header that claims far more voxels than
// its file holds is refused before the voxel array is allocated.
func TestLyingHeaderAllocatesLittle(t *testing.T) {
	dir := t.TempDir()
	claim := craft{dim: [8]int16{3, 1000, 1000, 1000, 1, 1, 1, 1}, datatype: 16, bitpix: 32} // 4 GB
	var gzBuf bytes.Buffer
	zw := gzip.NewWriter(&gzBuf)
	zw.Write(claim.bytes())
	zw.Write(make([]byte, 8<<20)) // 8 MB of zeros: a tiny file, far less than claimed
	zw.Close()
	plain := append(claim.bytes(), make([]byte, 1<<20)...)
	for name, data := range map[string][]byte{"claim.nii.gz": gzBuf.Bytes(), "claim.nii": plain} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ReadVolume(p)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("%s: read a 4 GB claim from a %d-byte file", name, len(data))
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
			t.Errorf("%s: allocated %d MB before refusing", name, grew>>20)
		}
	}
}
