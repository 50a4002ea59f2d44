package dicomio

import (
	"encoding/binary"
)

// encodeRLE encodes one frame of unsigned samples of bytesPerSample bytes as
// DICOM RLE (PS3.5 Annex G): one PackBits segment per byte plane, most
// significant first.
func encodeRLE(vals []uint32, bytesPerSample int) []byte {
	header := make([]byte, 64)
	binary.LittleEndian.PutUint32(header, uint32(bytesPerSample))
	out := header
	plane := make([]byte, len(vals))
	for s := 0; s < bytesPerSample; s++ {
		binary.LittleEndian.PutUint32(out[4+4*s:], uint32(len(out)))
		shift := uint(8 * (bytesPerSample - 1 - s))
		for i, v := range vals {
			plane[i] = byte(v >> shift)
		}
		out = packBits(out, plane)
		if len(out)%2 == 1 {
			out = append(out, 0) // segments are even-length
		}
	}
	return out
}

// packBits appends the PackBits encoding of src: runs of 3 or more equal
// bytes become repeat runs, the rest literal runs of up to 128 bytes.
func packBits(out, src []byte) []byte {
	for i := 0; i < len(src); {
		run := 1
		for i+run < len(src) && run < 128 && src[i+run] == src[i] {
			run++
		}
		if run >= 3 {
			out = append(out, byte(int8(1-run)), src[i])
			i += run
			continue
		}
		start := i
		for i < len(src) && i-start < 128 {
			if i+2 < len(src) && src[i] == src[i+1] && src[i] == src[i+2] {
				break
			}
			i++
		}
		out = append(out, byte(i-start-1))
		out = append(out, src[start:i]...)
	}
	return out
}

// Huffman table of the lossless JPEG encoder: categories 0..16 with code
// lengths 2, 3 x5, then one code each of lengths 4..14 (a valid prefix code
// whose longest code is not all ones).
var ljpegBits = [16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}
var ljpegVals = []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// encodeLosslessJPEG encodes a single-component image of the given precision
// (bits, 2..16) as lossless JPEG (T.81 process 14) with predictor ss (1..7)
// and no point transform, with a restart marker every restartRows rows
// (0: none; T.81 requires whole rows in lossless restart intervals).
func encodeLosslessJPEG(vals []uint32, rows, cols, precision, ss, restartRows int) []byte {
	// Canonical codes.
	var code [17]uint16
	var size [17]uint8
	c, k := uint16(0), 0
	for l := 1; l <= 16; l++ {
		for n := 0; n < int(ljpegBits[l-1]); n++ {
			code[ljpegVals[k]], size[ljpegVals[k]] = c, uint8(l)
			c++
			k++
		}
		c <<= 1
	}
	out := []byte{0xFF, 0xD8}
	// SOF3
	out = append(out, 0xFF, 0xC3, 0, 11, byte(precision), byte(rows>>8), byte(rows), byte(cols>>8), byte(cols), 1, 1, 0x11, 0)
	// DHT
	dht := append([]byte{0x00}, ljpegBits[:]...)
	dht = append(dht, ljpegVals...)
	out = append(out, 0xFF, 0xC4, byte((len(dht)+2)>>8), byte(len(dht)+2))
	out = append(out, dht...)
	if restartRows > 0 {
		ri := restartRows * cols
		out = append(out, 0xFF, 0xDD, 0, 4, byte(ri>>8), byte(ri))
	}
	// SOS: one component, table 0, predictor ss, Se 0, Ah/Al 0
	out = append(out, 0xFF, 0xDA, 0, 8, 1, 1, 0x00, byte(ss), 0, 0)
	bw := bitWriter{out: out}
	at := func(x, y int) int32 { return int32(vals[y*cols+x]) }
	first, rst := 0, 0 // first row of the current restart interval
	for y := 0; y < rows; y++ {
		if restartRows > 0 && y > 0 && y%restartRows == 0 {
			bw.flush()
			bw.out = append(bw.out, 0xFF, byte(0xD0+rst%8))
			rst++
			first = y
		}
		for x := 0; x < cols; x++ {
			var pred int32
			switch {
			case x == 0 && y == first:
				pred = 1 << uint(precision-1)
			case y == first:
				pred = at(x-1, y)
			case x == 0:
				pred = at(x, y-1)
			default:
				pred = losslessPredict(ss, at(x-1, y), at(x, y-1), at(x-1, y-1))
			}
			// Differences are taken modulo 2^16 into -32767..32768.
			d := (at(x, y) - pred) & 0xFFFF
			if d >= 0x8000 {
				d -= 0x10000
			}
			if d == -0x8000 {
				d = 0x8000
			}
			cat := 0
			for a := d; a != 0 && cat < 16; cat++ {
				if a < 0 {
					a = -a
				}
				a >>= 1
			}
			if d == 0x8000 {
				cat = 16
			}
			bw.put(uint32(code[cat]), uint(size[cat]))
			if cat > 0 && cat < 16 {
				v := d
				if v < 0 {
					v += 1<<uint(cat) - 1
				}
				bw.put(uint32(v), uint(cat))
			}
		}
	}
	bw.flush()
	return append(bw.out, 0xFF, 0xD9)
}

type bitWriter struct {
	out   []byte
	acc   uint32
	nbits uint
}

func (w *bitWriter) put(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		w.nbits++
		if w.nbits == 8 {
			w.emit(byte(w.acc))
			w.acc, w.nbits = 0, 0
		}
	}
}

func (w *bitWriter) emit(b byte) {
	w.out = append(w.out, b)
	if b == 0xFF {
		w.out = append(w.out, 0) // byte stuffing
	}
}

func (w *bitWriter) flush() {
	for w.nbits != 0 {
		w.put(1, 1) // pad with ones
	}
}
