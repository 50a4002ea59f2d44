package dicomio

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// The walker below checks the structure of a whole DICOM file before the
// library is allowed to parse it. suyashkumar/dicom v1.1.0 allocates a value's
// length before checking it against the bytes left (a flipped length byte
// asks for 4 GiB), returns no error for a file cut short inside its pixel
// data, panics on some malformed sequences and logs others to stderr. The
// walker follows the library's own reading rules (the same VR dictionary, the
// same short/long length VRs, the same sequence and item handling) so that a
// file it accepts is one the library reads within the file's bytes, without
// logging; everything else is refused here with a precise reason.

const (
	// maxInflated bounds a deflated data set once inflated: deflate can
	// expand about 1000-fold, so the compressed size alone is no bound.
	maxInflated = 256 << 20
	// maxDepth bounds sequence nesting (real files nest a handful deep).
	maxDepth = 16
)

var errNotDICOM = errors.New("not a DICOM file (no DICM marker at byte 128, no data set at byte 0)")

// rawFile is the structure of one file found by the walk.
type rawFile struct {
	syntax    string // transfer syntax UID
	deflated  bool
	bigEndian bool
	implicit  bool
	// pixel data: native bytes, or the fragments of an encapsulated value
	// (basic offset table excluded). Both alias the file's bytes.
	// libPrefix, when set, goes before the file's bytes for the library:
	// a synthetic preamble and file meta information for a bare data set,
	// so that the library never guesses the transfer syntax itself (its
	// guess reads a length before checking it).
	libPrefix []byte

	hasPixels    bool
	encapsulated bool
	native       []byte
	fragments    [][]byte
}

// walker reads elements from buf the way the library does.
type walker struct {
	buf      []byte
	bo       binary.ByteOrder
	implicit bool
	out      *rawFile
}

// walkFile checks the structure of a whole Part 10 file held in data.
func walkFile(data []byte) (*rawFile, error) {
	if len(data) < 132 || string(data[128:132]) != "DICM" {
		return walkBareDataset(data)
	}
	rf := &rawFile{}
	// File meta information: explicit VR little endian, introduced by its
	// group length (the library insists on it).
	meta := &walker{buf: data, bo: binary.LittleEndian, out: rf}
	pos := 132
	t, vr, vl, n, err := meta.header(pos)
	if err != nil {
		return nil, fmt.Errorf("file meta information: %w", err)
	}
	if t != tag.FileMetaInformationGroupLength || vr != "UL" || vl != 4 || pos+n+4 > len(data) {
		return nil, errors.New("file meta information: group length (0002,0000) missing or malformed")
	}
	metaLen := int(binary.LittleEndian.Uint32(data[pos+n:]))
	pos += n + 4
	if metaLen > len(data)-pos {
		return nil, fmt.Errorf("file meta information: group length %d runs past the end of the file", metaLen)
	}
	metaEnd := pos + metaLen
	for pos < metaEnd {
		t, vr, vl, n, err := meta.header(pos)
		if err != nil {
			return nil, fmt.Errorf("file meta information: %w", err)
		}
		if t == tag.TransferSyntaxUID {
			if vr != "UI" || vl == undefinedLength || int(vl) > metaEnd-pos-n {
				return nil, errors.New("file meta information: malformed transfer syntax (0002,0010)")
			}
			rf.syntax = strings.Trim(string(data[pos+n:pos+n+int(vl)]), " \x00")
		}
		next, err := meta.element(pos, metaEnd, 0)
		if err != nil {
			return nil, fmt.Errorf("file meta information: %w", err)
		}
		pos = next
	}
	if rf.syntax == "" {
		return nil, errors.New("file meta information has no transfer syntax (0002,0010)")
	}
	if _, err := uid.CanonicalTransferSyntaxUID(rf.syntax); err != nil {
		return nil, fmt.Errorf("unknown transfer syntax %q", rf.syntax)
	}
	bo, implicit, _ := uid.ParseTransferSyntaxUID(rf.syntax)
	rf.bigEndian = bo == binary.BigEndian
	rf.implicit = implicit
	body := data[pos:]
	if rf.syntax == uid.DeflatedExplicitVRLittleEndian {
		rf.deflated = true
		inflated, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(body)), maxInflated+1))
		if err != nil {
			return nil, fmt.Errorf("deflated data set: %w", err)
		}
		if len(inflated) > maxInflated {
			return nil, fmt.Errorf("deflated data set inflates to more than %d MiB", maxInflated>>20)
		}
		body = inflated
	}
	w := &walker{buf: body, bo: bo, implicit: implicit, out: rf}
	for p := 0; p < len(body); {
		next, err := w.element(p, len(body), 0)
		if err != nil {
			return nil, err
		}
		p = next
	}
	return rf, nil
}

// walkBareDataset accepts a data set written without preamble and file meta
// information (older archives do this) when it starts with a group 0008
// element, in implicit or explicit VR little endian, told apart by whether
// bytes 4-5 spell a VR.
func walkBareDataset(data []byte) (*rawFile, error) {
	if len(data) < 8 || binary.LittleEndian.Uint16(data) != 0x0008 {
		return nil, errNotDICOM
	}
	rf := &rawFile{syntax: uid.ImplicitVRLittleEndian, implicit: true}
	if knownVR(string(data[4:6])) {
		rf.syntax, rf.implicit = uid.ExplicitVRLittleEndian, false
	}
	w := &walker{buf: data, bo: binary.LittleEndian, implicit: rf.implicit, out: rf}
	for p := 0; p < len(data); {
		next, err := w.element(p, len(data), 0)
		if err != nil {
			return nil, fmt.Errorf("data set without file meta information: %w", err)
		}
		p = next
	}
	// Preamble, "DICM", group length, transfer syntax (UI, even length).
	ts := []byte(rf.syntax)
	if len(ts)%2 == 1 {
		ts = append(ts, 0)
	}
	meta := binary.LittleEndian.AppendUint16(nil, 0x0002)
	meta = binary.LittleEndian.AppendUint16(meta, 0x0010)
	meta = append(meta, 'U', 'I')
	meta = binary.LittleEndian.AppendUint16(meta, uint16(len(ts)))
	meta = append(meta, ts...)
	p := make([]byte, 128, 128+4+12+len(meta))
	p = append(p, "DICM"...)
	p = append(p, 0x02, 0x00, 0x00, 0x00, 'U', 'L', 4, 0)
	p = binary.LittleEndian.AppendUint32(p, uint32(len(meta)))
	rf.libPrefix = append(p, meta...)
	return rf, nil
}

func knownVR(vr string) bool {
	switch vr {
	case "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
		"PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV":
		return true
	}
	return false
}

const undefinedLength = 0xFFFFFFFF

// longVRs are the VRs the library reads with two reserved bytes and a 32-bit
// length in explicit syntaxes (its list, including its omissions).
func longVR(vr string) bool {
	switch vr {
	case "NA", "OB", "OD", "OF", "OL", "OW", "SQ", "UN", "UC", "UR", "UT":
		return true
	}
	return false
}

// header decodes the element header at pos: tag, VR, value length and the
// header's size in bytes.
func (w *walker) header(pos int) (t tag.Tag, vr string, vl uint32, n int, err error) {
	b := w.buf
	if pos+8 > len(b) {
		return t, "", 0, 0, fmt.Errorf("element header at byte %d is cut short (file truncated?)", pos)
	}
	t = tag.Tag{Group: w.bo.Uint16(b[pos:]), Element: w.bo.Uint16(b[pos+2:])}
	if w.implicit || t == tag.Item {
		vr = tag.UnknownVR
		if info, err := tag.Find(t); err == nil {
			vr = info.VRs[0]
			if t == tag.PixelData || t == tag.OverlayData {
				vr = "OW"
			}
		}
		return t, vr, w.bo.Uint32(b[pos+4:]), 8, nil
	}
	if t.Group == 0xFFFE {
		// Delimiters in explicit syntaxes: the library reads their zero
		// length as an empty VR and a 16-bit zero length, 8 bytes in all;
		// any other content would desynchronise it.
		if w.bo.Uint32(b[pos+4:]) != 0 {
			return t, "", 0, 0, fmt.Errorf("delimitation item %v at byte %d has a non-zero length", t, pos)
		}
		return t, "\x00\x00", 0, 8, nil
	}
	vr = string(b[pos+4 : pos+6])
	if longVR(vr) {
		if pos+12 > len(b) {
			return t, "", 0, 0, fmt.Errorf("element %v header at byte %d is cut short (file truncated?)", t, pos)
		}
		vl = w.bo.Uint32(b[pos+8:])
		return t, vr, vl, 12, nil
	}
	vl = uint32(w.bo.Uint16(b[pos+6:]))
	if vl == 0xFFFF {
		vl = undefinedLength // the library's reading of a 16-bit 0xFFFF
	}
	return t, vr, vl, 8, nil
}

// element checks the element at pos, which must end by end, and returns the
// position after it.
func (w *walker) element(pos, end, depth int) (int, error) {
	if depth > maxDepth {
		return 0, fmt.Errorf("sequences nested deeper than %d at byte %d", maxDepth, pos)
	}
	t, vr, vl, n, err := w.header(pos)
	if err != nil {
		return 0, err
	}
	if pos+n > end {
		return 0, fmt.Errorf("element %v header at byte %d runs past its container (file truncated?)", t, pos)
	}
	start := pos + n
	if t.Group == 0xFFFE && t != tag.Item {
		if vl != 0 {
			return 0, fmt.Errorf("delimitation item %v at byte %d has length %d", t, pos, vl)
		}
		return start, nil
	}
	kind := tag.GetVRKind(t, vr)
	if vl == undefinedLength {
		switch kind {
		case tag.VRSequence, tag.VRUnknown:
			return w.items(start, end, depth, true)
		case tag.VRItem:
			return w.itemBody(start, end, depth, true)
		case tag.VRBytes:
			_, next, err := w.fragments(start, end, t)
			return next, err
		case tag.VRPixelData:
			frags, next, err := w.fragments(start, end, t)
			if err != nil {
				return 0, err
			}
			if depth == 0 {
				w.out.hasPixels, w.out.encapsulated, w.out.fragments = true, true, frags
			}
			return next, nil
		}
		return 0, fmt.Errorf("element %v (VR %q) at byte %d has undefined length", t, vr, pos)
	}
	if int64(vl) > int64(end-start) {
		return 0, fmt.Errorf("element %v at byte %d claims %d bytes but only %d remain (file truncated or corrupt)", t, pos, vl, end-start)
	}
	stop := start + int(vl)
	switch kind {
	case tag.VRSequence:
		return w.items(start, stop, depth, false)
	case tag.VRItem:
		return w.itemBody(start, stop, depth, false)
	case tag.VRPixelData:
		if depth == 0 {
			w.out.hasPixels, w.out.native = true, w.buf[start:stop]
		}
	case tag.VRBytes:
		if vr != "OB" && vr != "OW" {
			return 0, fmt.Errorf("element %v at byte %d: bytes value with VR %q", t, pos, vr)
		}
		if vr == "OW" && vl%2 != 0 {
			return 0, fmt.Errorf("element %v at byte %d: OW value of odd length %d", t, pos, vl)
		}
	}
	return stop, nil
}

// items walks the items of a sequence: up to a sequence delimiter when
// undefined, else exactly filling [pos, end).
func (w *walker) items(pos, end, depth int, undefined bool) (int, error) {
	for undefined || pos < end {
		t, _, _, _, err := w.header(pos)
		if err != nil {
			return 0, err
		}
		if undefined && t == tag.SequenceDelimitationItem {
			return w.element(pos, end, depth+1)
		}
		if t != tag.Item {
			return 0, fmt.Errorf("sequence holds element %v at byte %d where an item was expected", t, pos)
		}
		next, err := w.element(pos, end, depth+1)
		if err != nil {
			return 0, err
		}
		pos = next
	}
	if pos != end {
		return 0, fmt.Errorf("sequence items overrun their length at byte %d", pos)
	}
	return pos, nil
}

// itemBody walks the elements of one item.
func (w *walker) itemBody(pos, end, depth int, undefined bool) (int, error) {
	for undefined || pos < end {
		t, _, _, _, err := w.header(pos)
		if err != nil {
			return 0, err
		}
		if undefined && t == tag.ItemDelimitationItem {
			return w.element(pos, end, depth+1)
		}
		next, err := w.element(pos, end, depth+1)
		if err != nil {
			return 0, err
		}
		pos = next
	}
	if pos != end {
		return 0, fmt.Errorf("item elements overrun their length at byte %d", pos)
	}
	return pos, nil
}

// fragments walks an encapsulated value: items of defined length up to a
// sequence delimiter. It returns the fragments after the first item (the
// basic offset table).
func (w *walker) fragments(pos, end int, owner tag.Tag) ([][]byte, int, error) {
	var frags [][]byte
	for i := 0; ; i++ {
		if pos+8 > end {
			return nil, 0, fmt.Errorf("encapsulated %v is cut short at byte %d (file truncated?)", owner, pos)
		}
		t := tag.Tag{Group: w.bo.Uint16(w.buf[pos:]), Element: w.bo.Uint16(w.buf[pos+2:])}
		vl := w.bo.Uint32(w.buf[pos+4:])
		pos += 8
		if t == tag.SequenceDelimitationItem {
			if vl != 0 {
				return nil, 0, fmt.Errorf("encapsulated %v: delimiter with length %d", owner, vl)
			}
			return frags, pos, nil
		}
		if t != tag.Item {
			return nil, 0, fmt.Errorf("encapsulated %v holds %v at byte %d where a fragment was expected", owner, t, pos-8)
		}
		if vl == undefinedLength || int64(vl) > int64(end-pos) {
			return nil, 0, fmt.Errorf("encapsulated %v: fragment at byte %d claims %d bytes but only %d remain", owner, pos-8, int64(vl), end-pos)
		}
		if i > 0 {
			frags = append(frags, w.buf[pos:pos+int(vl)])
		}
		pos += int(vl)
	}
}
