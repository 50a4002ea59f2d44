package dicomio

import (
	"encoding/binary"
	"fmt"
)

// decodeRLE decodes one DICOM RLE frame (PS3.5 Annex G) of rows*cols pixels
// with bytesPerSample bytes each (one sample per pixel). Segment 0 holds the
// most significant byte of every pixel, the last segment the least. The
// result is the pixels' unsigned values.
func decodeRLE(frame []byte, rows, cols, bytesPerSample int) ([]uint32, error) {
	if len(frame) < 64 {
		return nil, fmt.Errorf("RLE frame of %d bytes has no 64-byte header", len(frame))
	}
	nseg := int(binary.LittleEndian.Uint32(frame))
	if nseg != bytesPerSample {
		return nil, fmt.Errorf("RLE frame has %d segments, want %d for %d-byte samples", nseg, bytesPerSample, bytesPerSample)
	}
	n := rows * cols
	out := make([]uint32, n)
	plane := make([]byte, n)
	for s := 0; s < nseg; s++ {
		start := int(binary.LittleEndian.Uint32(frame[4+4*s:]))
		end := len(frame)
		if s+1 < nseg {
			end = int(binary.LittleEndian.Uint32(frame[8+4*s:]))
		}
		if start < 64 || start > end || end > len(frame) {
			return nil, fmt.Errorf("RLE segment %d has bad offsets %d..%d in a %d-byte frame", s, start, end, len(frame))
		}
		if err := unpackBits(frame[start:end], plane); err != nil {
			return nil, fmt.Errorf("RLE segment %d: %w", s, err)
		}
		shift := uint(8 * (nseg - 1 - s))
		for i, b := range plane {
			out[i] |= uint32(b) << shift
		}
	}
	return out, nil
}

// unpackBits fills dst from a PackBits byte segment: a header byte n in
// 0..127 copies the next n+1 bytes, -127..-1 repeats the next byte 1-n
// times, -128 is a no-op. Output beyond len(dst) is an error; a segment that
// ends early leaves a clear error too (a padding byte after the end is fine).
func unpackBits(src, dst []byte) error {
	o := 0
	for i := 0; i < len(src) && o < len(dst); {
		n := int(int8(src[i]))
		i++
		switch {
		case n >= 0:
			if i+n+1 > len(src) || o+n+1 > len(dst) {
				return fmt.Errorf("literal run of %d bytes overruns the segment or the image", n+1)
			}
			copy(dst[o:], src[i:i+n+1])
			i += n + 1
			o += n + 1
		case n != -128:
			if i >= len(src) || o+1-n > len(dst) {
				return fmt.Errorf("repeat run of %d bytes overruns the segment or the image", 1-n)
			}
			b := src[i]
			i++
			for k := 0; k < 1-n; k++ {
				dst[o+k] = b
			}
			o += 1 - n
		}
	}
	if o != len(dst) {
		return fmt.Errorf("segment decodes to %d bytes, want %d", o, len(dst))
	}
	return nil
}
