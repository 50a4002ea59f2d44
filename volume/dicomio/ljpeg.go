package dicomio

import (
	"errors"
	"fmt"
)

// decodeLosslessJPEG decodes a single-component lossless JPEG image
// (ITU T.81 process 14: SOF3, Huffman coding, predictors 1-7, point
// transform, restart intervals) as DICOM transfer syntaxes
// 1.2.840.10008.1.2.4.57 and .70 carry it. It returns rows*cols unsigned
// samples and the sample precision.
func decodeLosslessJPEG(data []byte, rows, cols int) ([]uint32, int, error) {
	d := &ljpeg{data: data}
	out, err := d.decode(rows, cols)
	if err != nil {
		return nil, 0, fmt.Errorf("lossless JPEG: %w", err)
	}
	return out, d.precision, nil
}

// lookBits is the width of the Huffman lookahead table.
const lookBits = 9

type huffTable struct {
	// look maps the next lookBits bits to code length<<8 | symbol for
	// codes of up to lookBits bits (0: longer code, take the slow path).
	look    [1 << lookBits]uint16
	maxcode [18]int32 // largest code of each length, -1 when none
	valptr  [17]int32 // index in vals of the first code of each length
	mincode [17]int32
	vals    []byte
	ok      bool
}

type ljpeg struct {
	data      []byte
	pos       int
	precision int
	height    int
	width     int
	tables    [4]huffTable
	restart   int
	// bit reader: acc holds nbits unread bits, most significant first
	acc       uint64
	nbits     uint
	hitMarker bool
}

var errShort = errors.New("data ends inside a segment")

func (d *ljpeg) u16(at int) (int, error) {
	if at+2 > len(d.data) {
		return 0, errShort
	}
	return int(d.data[at])<<8 | int(d.data[at+1]), nil
}

func (d *ljpeg) decode(rows, cols int) ([]uint32, error) {
	if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != 0xD8 {
		return nil, errors.New("no SOI marker")
	}
	d.pos = 2
	sawFrame := false
	for {
		// Find the next marker (skipping fill bytes).
		for d.pos < len(d.data) && d.data[d.pos] != 0xFF {
			d.pos++
		}
		for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
			d.pos++
		}
		if d.pos >= len(d.data) {
			return nil, errors.New("no SOS marker before the end of the data")
		}
		m := d.data[d.pos]
		d.pos++
		if m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
			continue // markers without a length
		}
		if m == 0xD9 {
			return nil, errors.New("EOI before any scan")
		}
		n, err := d.u16(d.pos)
		if err != nil || n < 2 || d.pos+n > len(d.data) {
			return nil, fmt.Errorf("marker 0xFF%02X has a bad length", m)
		}
		seg := d.data[d.pos+2 : d.pos+n]
		d.pos += n
		switch {
		case m == 0xC3:
			if err := d.frame(seg); err != nil {
				return nil, err
			}
			sawFrame = true
		case m == 0xC4:
			if err := d.huffman(seg); err != nil {
				return nil, err
			}
		case m == 0xDD:
			if len(seg) != 2 {
				return nil, errors.New("bad DRI segment")
			}
			d.restart = int(seg[0])<<8 | int(seg[1])
		case m == 0xDA:
			if !sawFrame {
				return nil, errors.New("SOS before SOF3")
			}
			if d.height != rows || d.width != cols {
				return nil, fmt.Errorf("image is %dx%d, header says %dx%d", d.width, d.height, cols, rows)
			}
			return d.scan(seg)
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return nil, fmt.Errorf("frame type SOF%d is not lossless process 14", m-0xC0)
		}
		// APPn, COM, DQT and others are skipped.
	}
}

func (d *ljpeg) frame(seg []byte) error {
	if len(seg) < 6 {
		return errors.New("short SOF3 segment")
	}
	d.precision = int(seg[0])
	d.height = int(seg[1])<<8 | int(seg[2])
	d.width = int(seg[3])<<8 | int(seg[4])
	nf := int(seg[5])
	if d.precision < 2 || d.precision > 16 {
		return fmt.Errorf("sample precision %d outside 2..16", d.precision)
	}
	if nf != 1 {
		return fmt.Errorf("%d components; only single-component (grey) images are supported", nf)
	}
	if len(seg) < 6+3*nf {
		return errors.New("short SOF3 segment")
	}
	return nil
}

func (d *ljpeg) huffman(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return errors.New("short DHT segment")
		}
		tc, th := seg[0]>>4, seg[0]&15
		if tc != 0 || th > 3 {
			return fmt.Errorf("DHT class %d table %d not usable for lossless", tc, th)
		}
		var counts [17]int
		total := 0
		for l := 1; l <= 16; l++ {
			counts[l] = int(seg[l])
			total += counts[l]
		}
		if total > 256 || len(seg) < 17+total {
			return errors.New("bad DHT segment")
		}
		t := &d.tables[th]
		*t = huffTable{vals: append([]byte(nil), seg[17:17+total]...), ok: true}
		code, k := int32(0), int32(0)
		for l := 1; l <= 16; l++ {
			t.valptr[l] = k
			t.mincode[l] = code
			code += int32(counts[l])
			k += int32(counts[l])
			if counts[l] > 0 {
				t.maxcode[l] = code - 1
			} else {
				t.maxcode[l] = -1
			}
			if code > 1<<l {
				return errors.New("DHT code lengths overflow")
			}
			code <<= 1
		}
		t.maxcode[17] = 0x7FFFFFFF
		code, k = 0, 0
		for l := 1; l <= lookBits; l++ {
			for n := 0; n < counts[l]; n++ {
				fill := 1 << (lookBits - l)
				base := int(code) << (lookBits - l)
				for f := 0; f < fill; f++ {
					t.look[base+f] = uint16(l)<<8 | uint16(t.vals[k])
				}
				code++
				k++
			}
			code <<= 1
		}
		seg = seg[17+total:]
	}
	return nil
}

// fill loads whole bytes of entropy-coded data into acc until it holds at
// least n bits (n <= 56), removing stuffed zero bytes. It stops at a marker
// or the end of the data, leaving fewer bits.
func (d *ljpeg) fill(n uint) {
	for d.nbits < n && !d.hitMarker {
		if d.pos >= len(d.data) {
			d.hitMarker = true
			return
		}
		b := d.data[d.pos]
		if b == 0xFF {
			if d.pos+1 >= len(d.data) || d.data[d.pos+1] != 0 {
				d.hitMarker = true // a marker (or a lone 0xFF) ends the data
				return
			}
			d.pos++
		}
		d.pos++
		d.acc = d.acc<<8 | uint64(b)
		d.nbits += 8
	}
}

var errEarlyEnd = errors.New("entropy-coded data ends early")

func (d *ljpeg) bits(n int) (int32, error) {
	if n == 0 {
		return 0, nil
	}
	d.fill(uint(n))
	if d.nbits < uint(n) {
		return 0, errEarlyEnd
	}
	d.nbits -= uint(n)
	return int32(d.acc>>d.nbits) & (1<<n - 1), nil
}

// diff decodes one Huffman-coded difference (T.81 F.2.2.3 and H.1.2.2).
func (d *ljpeg) diff(t *huffTable) (int32, error) {
	d.fill(32)
	var s int
	if d.nbits >= lookBits {
		e := t.look[(d.acc>>(d.nbits-lookBits))&(1<<lookBits-1)]
		if e != 0 {
			d.nbits -= uint(e >> 8)
			s = int(e & 0xFF)
			goto extra
		}
	}
	{
		code := int32(0)
		l := 1
		for ; l <= 16; l++ {
			b, err := d.bits(1)
			if err != nil {
				return 0, err
			}
			code = code<<1 | b
			if code <= t.maxcode[l] {
				break
			}
		}
		if l > 16 {
			return 0, errors.New("invalid Huffman code")
		}
		s = int(t.vals[t.valptr[l]+code-t.mincode[l]])
	}
extra:
	switch {
	case s == 0:
		return 0, nil
	case s == 16:
		return 32768, nil
	case s > 16:
		return 0, fmt.Errorf("difference category %d", s)
	}
	v, err := d.bits(s)
	if err != nil {
		return 0, err
	}
	if v < 1<<(s-1) {
		v += -(1 << s) + 1
	}
	return v, nil
}

// restartMarker consumes an RSTn marker at a restart interval boundary.
func (d *ljpeg) restartMarker() error {
	d.nbits = 0
	d.hitMarker = false
	for d.pos < len(d.data) && d.data[d.pos] == 0xFF && d.pos+1 < len(d.data) && d.data[d.pos+1] == 0xFF {
		d.pos++
	}
	if d.pos+1 >= len(d.data) || d.data[d.pos] != 0xFF || d.data[d.pos+1] < 0xD0 || d.data[d.pos+1] > 0xD7 {
		return errors.New("missing restart marker")
	}
	d.pos += 2
	return nil
}

func (d *ljpeg) scan(seg []byte) ([]uint32, error) {
	if len(seg) < 1 || seg[0] != 1 || len(seg) < 6 {
		return nil, errors.New("scan must have exactly one component")
	}
	td := seg[2] >> 4
	ss, pt := int(seg[3]), int(seg[5]&15)
	if td > 3 || !d.tables[td].ok {
		return nil, fmt.Errorf("scan uses undefined Huffman table %d", td)
	}
	if ss < 1 || ss > 7 {
		return nil, fmt.Errorf("predictor selection value %d outside 1..7", ss)
	}
	if pt >= d.precision {
		return nil, fmt.Errorf("point transform %d not below precision %d", pt, d.precision)
	}
	t := &d.tables[td]
	w, h := d.width, d.height
	out := make([]uint32, w*h)
	// Reconstruction is modulo 2^16 (T.81 H.1.2.1); keep int32 and mask.
	rec := make([]int32, w*h)
	initial := int32(1) << uint(d.precision-pt-1)
	mask := int32(1)<<16 - 1
	firstLineRow := 0 // the row where the current restart interval began
	intervalLeft := d.restart
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if d.restart > 0 {
				if intervalLeft == 0 {
					if err := d.restartMarker(); err != nil {
						return nil, err
					}
					intervalLeft = d.restart
					firstLineRow = -1 // set below: this sample restarts prediction
				}
				intervalLeft--
			}
			var pred int32
			switch {
			case firstLineRow == -1:
				pred = initial
				firstLineRow = y
			case y == firstLineRow && x == 0 && y == 0:
				pred = initial
			case y == firstLineRow:
				pred = rec[i-1]
			case x == 0:
				pred = rec[i-w]
			default:
				pred = losslessPredict(ss, rec[i-1], rec[i-w], rec[i-w-1])
			}
			df, err := d.diff(t)
			if err != nil {
				return nil, fmt.Errorf("sample (%d, %d): %w", x, y, err)
			}
			rec[i] = (pred + df) & mask
			out[i] = uint32(rec[i]) << uint(pt)
		}
	}
	return out, nil
}

// losslessPredict is the prediction of a sample from its left (ra), upper
// (rb) and upper-left (rc) neighbours for the selection value ss (1..7,
// ITU-T T.81 Table H.1); the decoder and the test encoder share it.
func losslessPredict(ss int, ra, rb, rc int32) int32 {
	switch ss {
	case 1:
		return ra
	case 2:
		return rb
	case 3:
		return rc
	case 4:
		return ra + rb - rc
	case 5:
		return ra + (rb-rc)>>1
	case 6:
		return rb + (ra-rc)>>1
	default:
		return (ra + rb) >> 1
	}
}
