package dicomio

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// The fixtures in testdata are one 64x64 slice of the MNI head (signed
// 16-bit, intercept -100) written by WriteSeries, and the same slice
// compressed by DCMTK 3.6.7 (dcmcrle, dcmcjpeg +e1 / +el +sv 4 / +sv 7,
// dcmcjpls), plus this package's own RLE and JPEG lossless output
// decompressed by DCMTK (dcmdrle, dcmdjpeg): independent codecs in both
// directions.

func readFixture(t *testing.T, name string) ([]float32, *instance) {
	t.Helper()
	in, err := readInstance(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	px := make([]float32, in.rows*in.cols)
	if err := in.decodePixels(px); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return px, in
}

func TestCodecsAgainstDCMTK(t *testing.T) {
	want, base := readFixture(t, "base_explicit_le.dcm")
	lo, hi := want[0], want[0]
	neg := false
	for _, x := range want {
		lo, hi = min(lo, x), max(hi, x)
		neg = neg || x < 0
	}
	if hi-lo < 100 || base.pixelRep != 1 {
		t.Fatalf("base fixture is not a signed real slice (range %g..%g, PixelRepresentation %d)", lo, hi, base.pixelRep)
	}
	for _, name := range []string{
		"dcmtk_deflated.dcm",
		"dcmtk_dataset_only_implicit.dcm",
		"dcmtk_dataset_only_explicit.dcm",
		"dcmtk_rle.dcm",
		"dcmtk_jpeg_lossless_sv1.dcm",
		"dcmtk_jpeg_lossless_sv4.dcm",
		"dcmtk_jpeg_lossless_sv7.dcm",
		"ours_rle.dcm",
		"ours_jpeg_lossless.dcm",
		"ours_rle_dcmdrle.dcm",
		"ours_jpeg_lossless_dcmdjpeg.dcm",
	} {
		t.Run(name, func(t *testing.T) {
			got, in := readFixture(t, name)
			if len(got) != len(want) {
				t.Fatalf("%d pixels, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("pixel %d = %g, want %g (transfer syntax %s)", i, got[i], want[i], in.raw.syntax)
				}
			}
		})
	}
}

// JPEG-LS (DCMTK dcmcjpls) and JPEG 2000 (GDCM gdcmconv --j2k) decode to
// the base slice in builds with the dicomcodecs tag, and give an error that
// names the transfer syntax otherwise.
func TestJPEGLSAndJPEG2000(t *testing.T) {
	want, _ := readFixture(t, "base_explicit_le.dcm")
	for _, c := range []struct{ file, name, uid string }{
		{"dcmtk_jpeg_ls.dcm", "JPEG-LS", "1.2.840.10008.1.2.4.80"},
		{"gdcm_jpeg2000_lossless.dcm", "JPEG 2000", "1.2.840.10008.1.2.4.90"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, err := readInstance(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, in.rows*in.cols)
			err = in.decodePixels(got)
			if !externalCodecs {
				wantErr(t, err, c.name, c.uid, "dicomcodecs")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("pixel %d = %g, want %g", i, got[i], want[i])
				}
			}
		})
	}
}

func TestBaselineJPEG(t *testing.T) {
	got, in := readFixture(t, "img2dcm_jpeg_baseline.dcm")
	raw, err := os.ReadFile(filepath.Join("testdata", "baseline.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	g := img.(*image.Gray)
	if in.cols != 64 || in.rows != 48 {
		t.Fatalf("size %dx%d", in.cols, in.rows)
	}
	for y := range 48 {
		for x := range 64 {
			if got[y*64+x] != float32(g.Pix[y*g.Stride+x]) {
				t.Fatalf("pixel (%d,%d) = %g, want %d", x, y, got[y*64+x], g.Pix[y*g.Stride+x])
			}
		}
	}
}

// Our lossless JPEG encoder and decoder agree for every predictor, for
// precisions from 2 to 16 bits and with restart intervals, on noise (long
// codes) and on flat regions.
func TestLosslessJPEGPredictors(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, prec := range []int{2, 8, 12, 16} {
		for ss := 1; ss <= 7; ss++ {
			rows, cols := 13, 17
			vals := make([]uint32, rows*cols)
			for i := range vals {
				if i%5 == 0 {
					vals[i] = r.Uint32() & (1<<prec - 1)
				} else if i > 0 {
					vals[i] = vals[i-1]
				}
			}
			restart := ss % 3 // 0 (none), 1 or 2 rows per restart interval
			enc := encodeLosslessJPEG(vals, rows, cols, prec, ss, restart)
			got, p, err := decodeLosslessJPEG(enc, rows, cols)
			if err != nil {
				t.Fatalf("precision %d predictor %d: %v", prec, ss, err)
			}
			if p != prec {
				t.Fatalf("precision %d, want %d", p, prec)
			}
			for i := range vals {
				if got[i] != vals[i] {
					t.Fatalf("precision %d predictor %d: sample %d = %d, want %d", prec, ss, i, got[i], vals[i])
				}
			}
			if _, _, err := decodeLosslessJPEG(enc[:len(enc)/2], rows, cols); err == nil {
				t.Fatalf("precision %d predictor %d: half a stream decoded without error", prec, ss)
			}
		}
	}
}

func TestRLERoundTripAndErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vals := make([]uint32, 300*7)
	for i := range vals {
		switch {
		case i < 400:
			vals[i] = 1234 // long repeat runs
		case i%3 == 0:
			vals[i] = r.Uint32() & 0xFFFF
		default:
			vals[i] = vals[i-1]
		}
	}
	enc := encodeRLE(vals, 2)
	got, err := decodeRLE(enc, 7, 300, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range vals {
		if got[i] != vals[i] {
			t.Fatalf("sample %d = %d, want %d", i, got[i], vals[i])
		}
	}
	if _, err := decodeRLE(enc[:len(enc)-40], 7, 300, 2); err == nil {
		t.Fatal("truncated RLE decoded without error")
	}
	if _, err := decodeRLE(enc, 7, 300, 1); err == nil {
		t.Fatal("RLE with the wrong segment count decoded without error")
	}
}
