package nifti

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	gn "github.com/okieraised/gonii/pkg/nifti"
)

// rawHeader is a NIfTI-1 or NIfTI-2 header normalised to wide types. It is
// filled from gonii's header structs (which define the on-disk layouts);
// everything computed from it (affine, sizes, decoding) is ours because
// gonii gets those wrong (see the package comment).
type rawHeader struct {
	version   int // 1 or 2
	order     binary.ByteOrder
	pair      bool // magic "ni1"/"ni2": data lives in a separate .img file
	dim       [8]int64
	datatype  int
	bitpix    int
	pixdim    [8]float64
	voxOffset float64
	sclSlope  float64
	sclInter  float64
	qformCode int
	sformCode int
	quatern   [3]float64 // b, c, d
	qoffset   [3]float64
	srow      [3][4]float64
	descrip   string
	xyztUnits int
	intent    int
}

// Header sizes of the two NIfTI versions.
const (
	nii1Size = 348
	nii2Size = 540
)

// parseHeader reads a header from the first bytes of r, detecting the version
// from sizeof_hdr and the byte order from which order makes sizeof_hdr valid.
func parseHeader(r io.Reader) (*rawHeader, error) {
	var first [4]byte
	if _, err := io.ReadFull(r, first[:]); err != nil {
		return nil, fmt.Errorf("reading header: %w", noEOF(err))
	}
	var order binary.ByteOrder
	var size int
	switch {
	case binary.LittleEndian.Uint32(first[:]) == nii1Size:
		order, size = binary.LittleEndian, nii1Size
	case binary.BigEndian.Uint32(first[:]) == nii1Size:
		order, size = binary.BigEndian, nii1Size
	case binary.LittleEndian.Uint32(first[:]) == nii2Size:
		order, size = binary.LittleEndian, nii2Size
	case binary.BigEndian.Uint32(first[:]) == nii2Size:
		order, size = binary.BigEndian, nii2Size
	default:
		return nil, fmt.Errorf("not a NIfTI file: sizeof_hdr is not 348 or 540 (first bytes % x)", first)
	}
	buf := make([]byte, size)
	copy(buf, first[:])
	if _, err := io.ReadFull(r, buf[4:]); err != nil {
		return nil, fmt.Errorf("reading %d-byte header: %w", size, noEOF(err))
	}
	h := &rawHeader{order: order}
	if size == nii1Size {
		var n gn.Nii1Header
		if err := binary.Read(bytes.NewReader(buf), order, &n); err != nil {
			return nil, fmt.Errorf("decoding NIfTI-1 header: %w", err)
		}
		switch n.Magic {
		case gn.NIFTI_1_MAGIC_SINGLE:
		case gn.NIFTI_1_MAGIC_PAIR:
			h.pair = true
		default:
			return nil, fmt.Errorf("not a NIfTI-1 file: magic is %q, want \"n+1\" or \"ni1\" (plain Analyze 7.5 is not supported)", cString(n.Magic[:]))
		}
		h.version = 1
		for i := range n.Dim {
			h.dim[i] = int64(n.Dim[i])
			h.pixdim[i] = float64(n.Pixdim[i])
		}
		h.datatype, h.bitpix = int(n.Datatype), int(n.Bitpix)
		h.voxOffset = float64(n.VoxOffset)
		h.sclSlope, h.sclInter = float64(n.SclSlope), float64(n.SclInter)
		h.qformCode, h.sformCode = int(n.QformCode), int(n.SformCode)
		h.quatern = [3]float64{float64(n.QuaternB), float64(n.QuaternC), float64(n.QuaternD)}
		h.qoffset = [3]float64{float64(n.QoffsetX), float64(n.QoffsetY), float64(n.QoffsetZ)}
		for c := 0; c < 4; c++ {
			h.srow[0][c], h.srow[1][c], h.srow[2][c] = float64(n.SrowX[c]), float64(n.SrowY[c]), float64(n.SrowZ[c])
		}
		h.descrip = cString(n.Descrip[:])
		h.xyztUnits = int(n.XyztUnits)
		h.intent = int(n.IntentCode)
		return h, nil
	}
	var n gn.Nii2Header
	if err := binary.Read(bytes.NewReader(buf), order, &n); err != nil {
		return nil, fmt.Errorf("decoding NIfTI-2 header: %w", err)
	}
	switch n.Magic {
	case gn.NIFTI_2_MAGIC_SINGLE:
	case gn.NIFTI_2_MAGIC_PAIR:
		h.pair = true
	default:
		return nil, fmt.Errorf("not a NIfTI-2 file: magic is %q, want \"n+2\" or \"ni2\"", cString(n.Magic[:4]))
	}
	h.version = 2
	h.dim = n.Dim
	h.pixdim = n.Pixdim
	h.datatype, h.bitpix = int(n.Datatype), int(n.Bitpix)
	h.voxOffset = float64(n.VoxOffset)
	h.sclSlope, h.sclInter = n.SclSlope, n.SclInter
	h.qformCode, h.sformCode = int(n.QformCode), int(n.SformCode)
	h.quatern = [3]float64{n.QuaternB, n.QuaternC, n.QuaternD}
	h.qoffset = [3]float64{n.QoffsetX, n.QoffsetY, n.QoffsetZ}
	h.srow = [3][4]float64{n.SrowX, n.SrowY, n.SrowZ}
	h.descrip = cString(n.Descrip[:])
	h.xyztUnits = int(n.XyztUnits)
	h.intent = int(n.IntentCode)
	return h, nil
}

func (h *rawHeader) headerSize() int {
	if h.version == 2 {
		return nii2Size
	}
	return nii1Size
}

// datatypeInfo describes one NIfTI datatype code.
type datatypeInfo struct {
	name      string
	size      int  // bytes per voxel
	supported bool // readable as a scalar image
	integer   bool
}

var datatypes = map[int]datatypeInfo{
	int(gn.DT_UINT8):      {"uint8", 1, true, true},
	int(gn.DT_INT8):       {"int8", 1, true, true},
	int(gn.DT_INT16):      {"int16", 2, true, true},
	int(gn.DT_UINT16):     {"uint16", 2, true, true},
	int(gn.DT_INT32):      {"int32", 4, true, true},
	int(gn.DT_UINT32):     {"uint32", 4, true, true},
	int(gn.DT_INT64):      {"int64", 8, true, true},
	int(gn.DT_UINT64):     {"uint64", 8, true, true},
	int(gn.DT_FLOAT32):    {"float32", 4, true, false},
	int(gn.DT_FLOAT64):    {"float64", 8, true, false},
	int(gn.DT_BINARY):     {"binary", 0, false, true},
	int(gn.DT_COMPLEX64):  {"complex64", 8, false, false},
	int(gn.DT_COMPLEX128): {"complex128", 16, false, false},
	int(gn.DT_COMPLEX256): {"complex256", 32, false, false},
	int(gn.DT_FLOAT128):   {"float128", 16, false, false},
	int(gn.DT_RGB24):      {"rgb24", 3, false, true},
	int(gn.DT_RGBA32):     {"rgba32", 4, false, true},
}

func (h *rawHeader) datatypeName() string {
	if d, ok := datatypes[h.datatype]; ok {
		return d.name
	}
	return fmt.Sprintf("unknown(%d)", h.datatype)
}

// ndim is dim[0], the number of dimensions in use.
func (h *rawHeader) ndim() int { return int(h.dim[0]) }

// dims3 returns the first three dimensions (1 where ndim < 3).
func (h *rawHeader) dims3() [3]int {
	d := [3]int{1, 1, 1}
	for a := 0; a < 3 && a < h.ndim(); a++ {
		d[a] = int(h.dim[a+1])
	}
	return d
}

// checkDims validates dim[] and returns the 3D dims; data beyond the third
// dimension is refused unless every extra dimension is 1 (a 4D file with a
// single volume is a 3D image).
func (h *rawHeader) checkDims() ([3]int, error) {
	n := h.ndim()
	if n < 1 || n > 7 {
		return [3]int{}, fmt.Errorf("dim[0] is %d; must be 1..7", n)
	}
	for a := 1; a <= n; a++ {
		if h.dim[a] < 1 {
			return [3]int{}, fmt.Errorf("dim[%d] is %d; must be positive", a, h.dim[a])
		}
		if h.dim[a] > math.MaxInt32 {
			return [3]int{}, fmt.Errorf("dim[%d] is %d; too large", a, h.dim[a])
		}
	}
	for a := 4; a <= n; a++ {
		if h.dim[a] != 1 {
			what := "time points"
			if a > 4 {
				what = fmt.Sprintf("components along dimension %d (vector/tensor data)", a)
			}
			return [3]int{}, fmt.Errorf("image has %d %s; only single 3D volumes are supported", h.dim[a], what)
		}
	}
	return h.dims3(), nil
}

// dataOffset is the byte offset of the voxel data in the data file, checked
// to be a whole, non-negative number that does not overlap the header of a
// single-file image.
func (h *rawHeader) dataOffset() (int64, error) {
	o := h.voxOffset
	if math.IsNaN(o) || o < 0 || o != math.Trunc(o) || o > 1<<40 {
		return 0, fmt.Errorf("vox_offset %v is not a valid byte offset", o)
	}
	if !h.pair && int64(o) < int64(h.headerSize()) {
		return 0, fmt.Errorf("vox_offset %v lies inside the %d-byte header", o, h.headerSize())
	}
	return int64(o), nil
}

// scaling returns the scl_slope/scl_inter to apply; as in nibabel and
// niftilib a slope of 0 (or a non-finite one) means "no scaling".
func (h *rawHeader) scaling() (slope, inter float64, apply bool) {
	s, i := h.sclSlope, h.sclInter
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return 1, 0, false
	}
	if math.IsNaN(i) || math.IsInf(i, 0) {
		i = 0
	}
	return s, i, !(s == 1 && i == 0)
}

func (h *rawHeader) units() string {
	switch h.xyztUnits & 7 {
	case 1:
		return "m"
	case 2:
		return "mm"
	case 3:
		return "um"
	}
	return "unknown"
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
}

// noEOF turns a bare EOF into a message about truncation.
func noEOF(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("file is truncated (%w)", err)
	}
	return err
}
