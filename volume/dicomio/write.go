package dicomio

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/frame"
	"github.com/suyashkumar/dicom/pkg/tag"

	"metascope/internal/atomicfile"
	"metascope/volume"
)

// Transfer syntaxes WriteSeries can write.
const (
	ImplicitVRLittleEndian = tsImplicitLE
	ExplicitVRLittleEndian = tsExplicitLE
	ExplicitVRBigEndian    = tsExplicitBE
	RLELossless            = tsRLE
	JPEGLosslessSV1        = tsJPEGLosslessSV1
)

// WriteOptions describe the series WriteSeries writes. The zero value writes
// an unsigned 16-bit MR series in explicit VR little endian with slope 1.
type WriteOptions struct {
	SeriesUID      string // empty: a new UID
	StudyUID       string // empty: a new UID
	SeriesNumber   int
	Description    string
	Protocol       string
	Modality       string // empty: "MR"
	ContrastAgent  string
	ImageType      []string // empty: ORIGINAL\PRIMARY
	RepetitionTime float64  // ms, written when > 0
	EchoTime       float64
	InversionTime  float64
	// Stored value s maps to s*Slope + Intercept; Slope 0 means 1.
	Slope, Intercept float64
	Signed           bool   // int16 instead of uint16 stored values
	TransferSyntax   string // empty: ExplicitVRLittleEndian
	// FileName gives slice k's file name; nil: "IM%05d.dcm".
	FileName func(k int) string
}

func (o WriteOptions) validate() error {
	switch o.TransferSyntax {
	case "", tsImplicitLE, tsExplicitLE, tsExplicitBE, tsRLE, tsJPEGLosslessSV1:
	default:
		return fmt.Errorf("WriteOptions.TransferSyntax %s: WriteSeries writes only implicit/explicit little endian, explicit big endian, RLE and JPEG lossless SV1", syntaxName(o.TransferSyntax))
	}
	if math.IsNaN(o.Slope) || math.IsInf(o.Slope, 0) || math.IsNaN(o.Intercept) || math.IsInf(o.Intercept, 0) {
		return errors.New("WriteOptions.Slope and Intercept must be finite")
	}
	return nil
}

// WriteSeries writes v as one DICOM file per slice k into dir (created if
// needed): orientation and positions from the affine (RAS+ turned into
// DICOM's LPS), 16-bit stored values with the given rescale, and the
// sequence description and timing. Slices must be rectangular in world
// space (the first two affine columns orthogonal). A voxel that does not fit
// the stored type after rescaling is an error. Load orders slices along the
// DICOM normal (row x column direction), so a volume whose k axis runs
// against it (a left-handed affine, such as LAS) reads back with k reversed
// and every voxel at the same world position.
func WriteSeries(dir string, v *volume.Volume, opts WriteOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	if err := v.Grid.Validate(); err != nil {
		return fmt.Errorf("write series: %w", err)
	}
	if v.Dims[0] > 65535 || v.Dims[1] > 65535 {
		return fmt.Errorf("write series: slices of %dx%d exceed DICOM's 65535", v.Dims[0], v.Dims[1])
	}
	ts := opts.TransferSyntax
	if ts == "" {
		ts = tsExplicitLE
	}
	slope := opts.Slope
	if slope == 0 {
		slope = 1
	}
	lo, hi := 0.0, 65535.0
	if opts.Signed {
		lo, hi = -32768, 32767
	}
	// LPS columns of the affine.
	var colv [4][3]float64
	for c := range 4 {
		for r := range 3 {
			colv[c][r] = v.Affine[r][c]
			if r < 2 {
				colv[c][r] = -colv[c][r]
			}
		}
	}
	sx, sy := norm(colv[0]), norm(colv[1])
	if math.Abs(dot(colv[0], colv[1])) > 1e-6*sx*sy {
		return errors.New("write series: the affine's first two columns are not orthogonal; DICOM slices are rectangular")
	}
	rowDir, colDir := scale(colv[0], 1/sx), scale(colv[1], 1/sy)
	thick := math.Abs(dot(colv[2], cross(rowDir, colDir)))
	if opts.SeriesUID == "" {
		opts.SeriesUID = newUID()
	}
	if opts.StudyUID == "" {
		opts.StudyUID = newUID()
	}
	if opts.Modality == "" {
		opts.Modality = "MR"
	}
	if len(opts.ImageType) == 0 {
		opts.ImageType = []string{"ORIGINAL", "PRIMARY"}
	}
	if opts.FileName == nil {
		opts.FileName = func(k int) string { return fmt.Sprintf("IM%05d.dcm", k) }
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write series: %w", err)
	}
	nx, ny, nz := v.Dims[0], v.Dims[1], v.Dims[2]
	stored := make([]uint32, nx*ny)
	frameUID := newUID()
	for k := range nz {
		for i := range stored {
			x := float64(v.Data[k*nx*ny+i])
			s := math.Round((x - opts.Intercept) / slope)
			if !(s >= lo && s <= hi) {
				return fmt.Errorf("write series: voxel value %g at slice %d does not fit %s with slope %g and intercept %g", x, k, map[bool]string{true: "int16", false: "uint16"}[opts.Signed], slope, opts.Intercept)
			}
			stored[i] = uint32(int32(s)) & 0xFFFF
		}
		pos := add(colv[3], scale(colv[2], float64(k)))
		sop := newUID()
		elems := []*dicom.Element{
			el(tag.FileMetaInformationVersion, []byte{0, 1}),
			el(tag.MediaStorageSOPClassUID, []string{"1.2.840.10008.5.1.4.1.1.4"}),
			el(tag.MediaStorageSOPInstanceUID, []string{sop}),
			el(tag.TransferSyntaxUID, []string{ts}),
			el(tag.ImplementationClassUID, []string{implementationUID}),
			el(tag.ImageType, opts.ImageType),
			el(tag.SOPClassUID, []string{"1.2.840.10008.5.1.4.1.1.4"}),
			el(tag.SOPInstanceUID, []string{sop}),
			el(tag.Modality, []string{opts.Modality}),
			el(tag.SeriesDescription, []string{opts.Description}),
			el(tag.PatientName, []string{"Metascope^Test"}),
			el(tag.PatientID, []string{"METASCOPE"}),
			el(tag.SliceThickness, []string{ds(thick)}),
			el(tag.ProtocolName, []string{opts.Protocol}),
			el(tag.StudyInstanceUID, []string{opts.StudyUID}),
			el(tag.SeriesInstanceUID, []string{opts.SeriesUID}),
			el(tag.SeriesNumber, []string{strconv.Itoa(opts.SeriesNumber)}),
			el(tag.InstanceNumber, []string{strconv.Itoa(k + 1)}),
			el(tag.ImagePositionPatient, []string{ds(pos[0]), ds(pos[1]), ds(pos[2])}),
			el(tag.ImageOrientationPatient, []string{ds(rowDir[0]), ds(rowDir[1]), ds(rowDir[2]), ds(colDir[0]), ds(colDir[1]), ds(colDir[2])}),
			el(tag.FrameOfReferenceUID, []string{frameUID}),
			el(tag.SamplesPerPixel, []int{1}),
			el(tag.PhotometricInterpretation, []string{"MONOCHROME2"}),
			el(tag.Rows, []int{ny}),
			el(tag.Columns, []int{nx}),
			el(tag.PixelSpacing, []string{ds(sy), ds(sx)}),
			el(tag.BitsAllocated, []int{16}),
			el(tag.BitsStored, []int{16}),
			el(tag.HighBit, []int{15}),
			el(tag.PixelRepresentation, []int{map[bool]int{true: 1, false: 0}[opts.Signed]}),
			el(tag.RescaleIntercept, []string{ds(opts.Intercept)}),
			el(tag.RescaleSlope, []string{ds(slope)}),
		}
		if opts.ContrastAgent != "" {
			elems = append(elems, el(tag.ContrastBolusAgent, []string{opts.ContrastAgent}))
		}
		for _, t := range []struct {
			t tag.Tag
			v float64
		}{{tag.RepetitionTime, opts.RepetitionTime}, {tag.EchoTime, opts.EchoTime}, {tag.InversionTime, opts.InversionTime}} {
			if t.v > 0 {
				elems = append(elems, el(t.t, []string{ds(t.v)}))
			}
		}
		pix, err := pixelElement(stored, ny, nx, ts)
		if err != nil {
			return fmt.Errorf("write series: slice %d: %w", k, err)
		}
		elems = append(elems, pix)
		sort.SliceStable(elems, func(a, b int) bool {
			ta, tb := elems[a].Tag, elems[b].Tag
			return ta.Group < tb.Group || ta.Group == tb.Group && ta.Element < tb.Element
		})
		var buf bytes.Buffer
		if err := dicom.Write(&buf, dicom.Dataset{Elements: elems}, dicom.SkipVRVerification()); err != nil {
			return fmt.Errorf("write series: slice %d: %w", k, err)
		}
		name := filepath.Join(dir, opts.FileName(k))
		if err := atomicfile.WriteBytes(name, buf.Bytes()); err != nil {
			return fmt.Errorf("write series: %w", err)
		}
	}
	return nil
}

// implementationUID identifies files written by Metascope (PS3.7 D.3.3.2).
const implementationUID = "2.25.277916834642175536268641429475653759903"

// pixelElement builds the PixelData element in the transfer syntax's form.
func pixelElement(stored []uint32, rows, cols int, ts string) (*dicom.Element, error) {
	var info dicom.PixelDataInfo
	switch ts {
	case tsRLE, tsJPEGLosslessSV1:
		var data []byte
		if ts == tsRLE {
			data = encodeRLE(stored, 2)
		} else {
			data = encodeLosslessJPEG(stored, rows, cols, 16, 1, 0)
		}
		if len(data)%2 == 1 {
			data = append(data, 0)
		}
		info = dicom.PixelDataInfo{IsEncapsulated: true, Frames: []*frame.Frame{{
			Encapsulated: true, EncapsulatedData: frame.EncapsulatedFrame{Data: data},
		}}}
	default:
		var bo binary.ByteOrder = binary.LittleEndian
		if ts == tsExplicitBE {
			bo = binary.BigEndian
		}
		raw := make([]byte, 2*len(stored))
		for i, s := range stored {
			bo.PutUint16(raw[2*i:], uint16(s))
		}
		info = dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: raw}
	}
	e, err := dicom.NewElement(tag.PixelData, info)
	if err != nil {
		return nil, err
	}
	if info.IsEncapsulated {
		e.RawValueRepresentation = "OB"
		e.ValueLength = tag.VLUndefinedLength
	}
	return e, nil
}

func el(t tag.Tag, v any) *dicom.Element {
	e, err := dicom.NewElement(t, v)
	if err != nil {
		panic(fmt.Sprintf("dicomio: element %v: %v", t, err)) // programming error: fixed tags and types
	}
	return e
}

// ds formats a decimal string in at most 16 characters (DICOM's DS limit),
// with as many significant digits as fit.
func ds(x float64) string {
	if x == 0 {
		return "0"
	}
	for prec := 15; prec > 0; prec-- {
		s := strconv.FormatFloat(x, 'g', prec, 64)
		if len(s) <= 16 {
			return s
		}
	}
	return strconv.FormatFloat(x, 'g', 1, 64)
}

// newUID returns a UID under the 2.25 root (a random 128-bit integer, as
// PS3.5 B.2 allows).
func newUID() string {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("dicomio: no randomness: " + err.Error())
	}
	return "2.25." + n.String()
}
