package nifti

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"

	"github.com/klauspost/pgzip"
	gn "github.com/okieraised/gonii/pkg/nifti"

	"metascope/internal/atomicfile"
	"metascope/volume"
)

// description written into every header Metascope creates.
const description = "Metascope"

// WriteVolume writes v as float32 NIfTI, gzipped when path ends in .nii.gz.
func WriteVolume(path string, v *volume.Volume) error {
	lo, hi := v.Range()
	return write(path, v.Grid, int(gn.DT_FLOAT32), 4, 1, 0, float64(lo), float64(hi), func(b []byte, start int) {
		for i := range b[:len(b)/4] {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v.Data[start+i]))
		}
	}, len(v.Data))
}

// WriteVolumeInt16 writes v as int16 (values rounded to the nearest integer
// and clamped to -32768..32767; NaN becomes 0) with scl_slope 1, halving the
// size of float32 files for images whose values are whole numbers anyway.
func WriteVolumeInt16(path string, v *volume.Volume) error {
	lo, hi := v.Range()
	return write(path, v.Grid, int(gn.DT_INT16), 2, 1, 0, float64(clampInt16(lo)), float64(clampInt16(hi)), func(b []byte, start int) {
		for i := range b[:len(b)/2] {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(clampInt16(v.Data[start+i])))
		}
	}, len(v.Data))
}

// WriteLabel writes l as uint8 NIfTI.
func WriteLabel(path string, l *volume.Label) error {
	hi := 0
	for _, x := range l.Data {
		hi = max(hi, int(x))
	}
	return write(path, l.Grid, int(gn.DT_UINT8), 1, 1, 0, 0, float64(hi), func(b []byte, start int) {
		copy(b, l.Data[start:])
	}, len(l.Data))
}

func clampInt16(x float32) int16 {
	if x != x {
		return 0
	}
	r := math.RoundToEven(float64(x))
	if r < math.MinInt16 {
		return math.MinInt16
	}
	if r > math.MaxInt16 {
		return math.MaxInt16
	}
	return int16(r)
}

// write emits header, 4 empty extension bytes and the voxels; fill encodes
// the voxels from index start into b (little endian).
func write(path string, g volume.Grid, datatype, size int, slope, inter, calMin, calMax float64,
	fill func(b []byte, start int), n int) error {
	lower := strings.ToLower(path)
	gz := strings.HasSuffix(lower, ".nii.gz")
	if !gz && !strings.HasSuffix(lower, ".nii") {
		return fmt.Errorf("nifti: %s: output name must end in .nii or .nii.gz", path)
	}
	if err := g.Validate(); err != nil {
		return fmt.Errorf("nifti: %s: %w", path, err)
	}
	if n != g.Len() {
		return fmt.Errorf("nifti: %s: %d voxels for a %v grid", path, n, g.Dims)
	}
	hdr := buildHeader(g, datatype, size, slope, inter, calMin, calMax)
	err := atomicfile.Write(path, func(w io.Writer) error {
		var zw *pgzip.Writer
		if gz {
			var err error
			zw, err = pgzip.NewWriterLevel(w, pgzip.BestSpeed)
			if err != nil {
				return err
			}
			// Blocks of 1 MiB over the available cores: the writer
			// compresses them in parallel.
			if err := zw.SetConcurrency(1<<20, max(2, runtime.GOMAXPROCS(0))); err != nil {
				return err
			}
			w = zw
		}
		if err := binary.Write(w, binary.LittleEndian, hdr); err != nil {
			return err
		}
		if _, err := w.Write(make([]byte, 4)); err != nil { // no extensions
			return err
		}
		const chunk = 1 << 16
		buf := make([]byte, chunk*size)
		for start := 0; start < n; start += chunk {
			end := min(start+chunk, n)
			b := buf[:(end-start)*size]
			fill(b, start)
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		if zw != nil {
			return zw.Close()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("nifti: %w", err)
	}
	return nil
}

// buildHeader makes a header whose sform and qform both hold the affine
// (codes 1, scanner), so nibabel, ITK and FSL read back the same geometry.
// NIfTI-1 unless a dimension exceeds its int16 range.
func buildHeader(g volume.Grid, datatype, size int, slope, inter, calMin, calMax float64) any {
	q := affineToQform(g.Affine)
	a := g.Affine
	if g.Dims[0] > math.MaxInt16 || g.Dims[1] > math.MaxInt16 || g.Dims[2] > math.MaxInt16 {
		h := &gn.Nii2Header{
			SizeofHdr: nii2Size,
			Magic:     gn.NIFTI_2_MAGIC_SINGLE,
			Datatype:  int16(datatype),
			Bitpix:    int16(8 * size),
			Dim:       [8]int64{3, int64(g.Dims[0]), int64(g.Dims[1]), int64(g.Dims[2]), 1, 1, 1, 1},
			Pixdim:    [8]float64{q.qfac, q.pixdim[0], q.pixdim[1], q.pixdim[2], 1, 1, 1, 1},
			VoxOffset: nii2Size + 4,
			SclSlope:  slope, SclInter: inter,
			CalMin: calMin, CalMax: calMax,
			QformCode: 1, SformCode: 1,
			QuaternB: q.b, QuaternC: q.c, QuaternD: q.d,
			QoffsetX: q.offset[0], QoffsetY: q.offset[1], QoffsetZ: q.offset[2],
			SrowX: a[0], SrowY: a[1], SrowZ: a[2],
			XyztUnits: 2 | 8, // mm, s
		}
		copy(h.Descrip[:], description)
		return h
	}
	f := func(x float64) float32 { return float32(x) }
	row := func(r [4]float64) [4]float32 { return [4]float32{f(r[0]), f(r[1]), f(r[2]), f(r[3])} }
	h := &gn.Nii1Header{
		SizeofHdr: nii1Size,
		Regular:   'r',
		Magic:     gn.NIFTI_1_MAGIC_SINGLE,
		Datatype:  int16(datatype),
		Bitpix:    int16(8 * size),
		Dim:       [8]int16{3, int16(g.Dims[0]), int16(g.Dims[1]), int16(g.Dims[2]), 1, 1, 1, 1},
		Pixdim:    [8]float32{f(q.qfac), f(q.pixdim[0]), f(q.pixdim[1]), f(q.pixdim[2]), 1, 1, 1, 1},
		VoxOffset: nii1Size + 4,
		SclSlope:  f(slope), SclInter: f(inter),
		CalMin: f(calMin), CalMax: f(calMax),
		QformCode: 1, SformCode: 1,
		QuaternB: f(q.b), QuaternC: f(q.c), QuaternD: f(q.d),
		QoffsetX: f(q.offset[0]), QoffsetY: f(q.offset[1]), QoffsetZ: f(q.offset[2]),
		SrowX: row(a[0]), SrowY: row(a[1]), SrowZ: row(a[2]),
		XyztUnits: 2 | 8,
	}
	copy(h.Descrip[:], description)
	return h
}
