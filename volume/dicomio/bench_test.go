package dicomio

import (
	"os"
	"path/filepath"
	"testing"

	"metascope/internal/testdata"
	"metascope/volume"
)

// BenchmarkImport180 scans and loads a 180-slice 256x256 series (the MNI
// head padded into the field of view), as a PACS export would deliver a 1 mm
// T1c: uncompressed, RLE and JPEG lossless.
func BenchmarkImport180(b *testing.B) {
	head, err := readMNI(testdata.MNIHead(b))
	if err != nil {
		b.Fatal(err)
	}
	v := volume.New(volume.Grid{Dims: [3]int{256, 256, 180}, Affine: lpsAffine(ax, ay, [3]float64{1, 1, 1}, [3]float64{-128, -128, -90})})
	for k := range min(180, head.Dims[2]) {
		for j := range min(256, head.Dims[1]) {
			for i := range min(256, head.Dims[0]) {
				v.Set(i, j, k, max(0, float32(int(head.At(i, j, k)))))
			}
		}
	}
	for _, c := range []struct{ name, ts string }{
		{"explicit-le", ExplicitVRLittleEndian},
		{"rle", RLELossless},
		{"jpeg-lossless", JPEGLosslessSV1},
	} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			if err := WriteSeries(dir, v, WriteOptions{Description: "t1_mprage_tra_KM", TransferSyntax: c.ts}); err != nil {
				b.Fatal(err)
			}
			var bytes int64
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			for _, f := range files {
				fi, _ := os.Stat(f)
				bytes += fi.Size()
			}
			b.ResetTimer()
			for b.Loop() {
				series, problems, err := Scan(dir)
				if err != nil || len(problems) != 0 || len(series) != 1 {
					b.Fatalf("scan: %v %v %d", err, problems, len(series))
				}
				got, err := series[0].Load()
				if err != nil {
					b.Fatal(err)
				}
				if got.Dims != v.Dims {
					b.Fatalf("dims %v", got.Dims)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(180/sec, "slices/s")
			b.ReportMetric(float64(bytes)/1e6/sec, "MB/s")
		})
	}
}
