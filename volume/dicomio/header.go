package dicomio

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// maxFileSize bounds one file read into memory (a 2D slice is rarely more
// than a few MiB; 1 GiB leaves room for big multi-frame files).
const maxFileSize = 1 << 30

// instance is what one file contributes to a series: identification,
// geometry, pixel format and where its pixel bytes are.
type instance struct {
	path      string
	seriesUID string
	desc      string
	protocol  string
	modality  string
	seqName   string
	scanSeq   string
	contrast  string
	imageType []string

	rows, cols    int
	bitsAllocated int
	bitsStored    int
	pixelRep      int // 0 unsigned, 1 two's complement
	samples       int
	photometric   string
	frames        int

	ipp, iop     []float64 // ImagePositionPatient (3), ImageOrientationPatient (6)
	pixelSpacing []float64 // row spacing, column spacing
	sliceThick   float64
	slope, inter float64
	tr, te, ti   float64
	echoNumber   string
	temporalPos  string
	acquisition  string
	triggerTime  string
	instanceNum  int
	seriesNum    int
	syntax       string

	raw *rawFile
}

// readInstance reads and checks one file. It never panics: the library runs
// under recover, after walkFile has checked every length against the file.
func readInstance(path string) (inst *instance, err error) {
	// Defence in depth: the walker and the library call below are each
	// guarded, but no file may ever take the program down.
	defer func() {
		if r := recover(); r != nil {
			inst, err = nil, fmt.Errorf("internal error reading the file: %v", r)
		}
	}()
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("file of %d bytes is larger than the %d MiB limit", fi.Size(), maxFileSize>>20)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseInstance(path, data)
}

// parseInstance checks and decodes the header of one file held in data.
func parseInstance(path string, data []byte) (inst *instance, err error) {
	raw, err := walkFile(data)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			inst, err = nil, fmt.Errorf("DICOM parser failed: %v", r)
		}
	}()
	in := io.MultiReader(bytes.NewReader(raw.libPrefix), bytes.NewReader(data))
	ds, err := dicom.Parse(in, int64(len(raw.libPrefix)+len(data)), nil,
		dicom.SkipPixelData(), dicom.AllowUnknownSpecificCharacterSet())
	if err != nil {
		return nil, fmt.Errorf("DICOM parser: %w", err)
	}
	h := header{&ds}
	inst = &instance{
		path:          path,
		seriesUID:     h.str(tag.SeriesInstanceUID),
		desc:          h.str(tag.SeriesDescription),
		protocol:      h.str(tag.ProtocolName),
		modality:      h.str(tag.Modality),
		seqName:       h.str(tag.SequenceName),
		scanSeq:       h.joined(tag.ScanningSequence),
		contrast:      h.str(tag.ContrastBolusAgent),
		imageType:     h.strs(tag.ImageType),
		rows:          h.int(tag.Rows, 0),
		cols:          h.int(tag.Columns, 0),
		bitsAllocated: h.int(tag.BitsAllocated, 0),
		bitsStored:    h.int(tag.BitsStored, 0),
		pixelRep:      h.int(tag.PixelRepresentation, 0),
		samples:       h.int(tag.SamplesPerPixel, 1),
		photometric:   h.str(tag.PhotometricInterpretation),
		frames:        int(h.num(tag.NumberOfFrames, 1)),
		ipp:           h.nums(tag.ImagePositionPatient),
		iop:           h.nums(tag.ImageOrientationPatient),
		pixelSpacing:  h.nums(tag.PixelSpacing),
		sliceThick:    h.num(tag.SliceThickness, 0),
		slope:         h.num(tag.RescaleSlope, 1),
		inter:         h.num(tag.RescaleIntercept, 0),
		tr:            h.num(tag.RepetitionTime, 0),
		te:            h.num(tag.EchoTime, 0),
		ti:            h.num(tag.InversionTime, 0),
		echoNumber:    h.str(tag.EchoNumbers),
		temporalPos:   h.str(tag.TemporalPositionIdentifier),
		acquisition:   h.str(tag.AcquisitionNumber),
		triggerTime:   h.str(tag.TriggerTime),
		instanceNum:   int(h.num(tag.InstanceNumber, 0)),
		seriesNum:     h.int(tag.SeriesNumber, 0),
		syntax:        raw.syntax,
		raw:           raw,
	}
	if inst.seriesUID == "" {
		return nil, fmt.Errorf("no SeriesInstanceUID (0020,000E)")
	}
	if inst.slope == 0 {
		inst.slope = 1 // a zero slope is a writer's mistake; DICOM means "absent"
	}
	return inst, nil
}

// header reads typed values out of a parsed data set without the library's
// Must* helpers, which panic on an unexpected value type.
type header struct{ ds *dicom.Dataset }

func (h header) strs(t tag.Tag) []string {
	e, err := h.ds.FindElementByTag(t)
	if err != nil || e.Value == nil || e.Value.ValueType() != dicom.Strings {
		return nil
	}
	v, _ := e.Value.GetValue().([]string)
	out := make([]string, 0, len(v))
	for _, s := range v {
		out = append(out, strings.Trim(s, " \x00"))
	}
	return out
}

func (h header) str(t tag.Tag) string {
	if v := h.strs(t); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h header) joined(t tag.Tag) string { return strings.Join(h.strs(t), `\`) }

// nums reads a numeric multi-value (DS, IS, or binary numbers).
func (h header) nums(t tag.Tag) []float64 {
	e, err := h.ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return nil
	}
	switch v := e.Value.GetValue().(type) {
	case []int:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []float64:
		return append([]float64(nil), v...)
	case []string:
		out := make([]float64, 0, len(v))
		for _, s := range v {
			f, err := strconv.ParseFloat(strings.Trim(s, " \x00"), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil
			}
			out = append(out, f)
		}
		return out
	}
	return nil
}

func (h header) num(t tag.Tag, def float64) float64 {
	if v := h.nums(t); len(v) > 0 {
		return v[0]
	}
	return def
}

func (h header) int(t tag.Tag, def int) int {
	v := h.num(t, float64(def))
	if v < math.MinInt32 || v > math.MaxInt32 {
		return def
	}
	return int(v)
}
