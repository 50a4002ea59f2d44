package dicomio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
)

// Transfer syntaxes this package names.
const (
	tsImplicitLE         = "1.2.840.10008.1.2"
	tsExplicitLE         = "1.2.840.10008.1.2.1"
	tsDeflatedLE         = "1.2.840.10008.1.2.1.99"
	tsExplicitBE         = "1.2.840.10008.1.2.2"
	tsJPEGBaseline       = "1.2.840.10008.1.2.4.50"
	tsJPEGExtended       = "1.2.840.10008.1.2.4.51"
	tsJPEGLossless       = "1.2.840.10008.1.2.4.57"
	tsJPEGLosslessSV1    = "1.2.840.10008.1.2.4.70"
	tsJPEGLSLossless     = "1.2.840.10008.1.2.4.80"
	tsJPEGLSNearLossless = "1.2.840.10008.1.2.4.81"
	tsJPEG2000Lossless   = "1.2.840.10008.1.2.4.90"
	tsJPEG2000           = "1.2.840.10008.1.2.4.91"
	tsRLE                = "1.2.840.10008.1.2.5"
)

var syntaxNames = map[string]string{
	tsImplicitLE:         "Implicit VR Little Endian",
	tsExplicitLE:         "Explicit VR Little Endian",
	tsDeflatedLE:         "Deflated Explicit VR Little Endian",
	tsExplicitBE:         "Explicit VR Big Endian",
	tsJPEGBaseline:       "JPEG Baseline (process 1)",
	tsJPEGExtended:       "JPEG Extended (process 2 & 4)",
	tsJPEGLossless:       "JPEG Lossless (process 14)",
	tsJPEGLosslessSV1:    "JPEG Lossless (process 14, selection value 1)",
	tsJPEGLSLossless:     "JPEG-LS Lossless",
	tsJPEGLSNearLossless: "JPEG-LS Near-Lossless",
	tsJPEG2000Lossless:   "JPEG 2000 (lossless only)",
	tsJPEG2000:           "JPEG 2000",
	tsRLE:                "RLE Lossless",
}

var errNoCodecs = errors.New("this build has no JPEG 2000 / JPEG-LS decoder (rebuild with -tags dicomcodecs and libopenjp2-7-dev, libcharls-dev installed)")

// syntaxName is a transfer syntax's UID with its name where known.
func syntaxName(ts string) string {
	if n, ok := syntaxNames[ts]; ok {
		return fmt.Sprintf("%s (%s)", n, ts)
	}
	return ts
}

// checkPixelFormat refuses what this package cannot turn into one scalar
// slice, before any pixel is decoded.
func (in *instance) checkPixelFormat() error {
	switch {
	case !in.raw.hasPixels:
		return fmt.Errorf("no pixel data (7FE0,0010)")
	case in.rows <= 0 || in.cols <= 0 || in.rows > 65535 || in.cols > 65535:
		return fmt.Errorf("image size %dx%d is not valid", in.cols, in.rows)
	case in.samples != 1:
		return fmt.Errorf("%d samples per pixel (%s): only greyscale images form volumes", in.samples, in.photometric)
	case in.frames != 1:
		return fmt.Errorf("multi-frame image (%d frames) is not supported: export the series as single-frame images", in.frames)
	case in.bitsAllocated != 8 && in.bitsAllocated != 16 && in.bitsAllocated != 32:
		return fmt.Errorf("BitsAllocated %d is not supported (8, 16 or 32)", in.bitsAllocated)
	case in.bitsStored > in.bitsAllocated:
		return fmt.Errorf("BitsStored %d exceeds BitsAllocated %d", in.bitsStored, in.bitsAllocated)
	case in.pixelRep != 0 && in.pixelRep != 1:
		return fmt.Errorf("PixelRepresentation %d is neither 0 nor 1", in.pixelRep)
	}
	if in.bitsStored <= 0 {
		in.bitsStored = in.bitsAllocated
	}
	// The decoded image must be one the file's bytes can describe, so that
	// a forged Rows/Columns never makes a reader allocate more: native data
	// holds every pixel; RLE expands at most 64-fold (a 2-byte run of 128),
	// lossless JPEG at most 8 samples per byte (1-bit codes), baseline JPEG
	// at most about 128 pixels per byte (a DC code and an EOB per 8x8 block).
	n := int64(in.rows) * int64(in.cols)
	if !in.raw.encapsulated {
		if need := n * int64(in.bitsAllocated/8); int64(len(in.raw.native)) < need {
			return fmt.Errorf("pixel data holds %d bytes, %dx%d pixels of %d bits need %d (file truncated?)", len(in.raw.native), in.cols, in.rows, in.bitsAllocated, need)
		}
		return nil
	}
	size := int64(0)
	for _, f := range in.raw.fragments {
		size += int64(len(f))
	}
	ratio := int64(256)
	switch in.raw.syntax {
	case tsRLE:
		ratio = 64
	case tsJPEGLossless, tsJPEGLosslessSV1:
		ratio = 8
	case tsJPEG2000Lossless, tsJPEG2000, tsJPEGLSLossless, tsJPEGLSNearLossless:
		ratio = 4096 // run modes and wavelets compress flat images very far
	}
	if n > ratio*size {
		return fmt.Errorf("%d bytes of compressed pixel data cannot hold %dx%d pixels (file truncated or corrupt?)", size, in.cols, in.rows)
	}
	return nil
}

// decodePixels writes the rescaled pixels of in's one frame into dst (rows *
// cols values, row by row), applying the sign of PixelRepresentation, which
// the library leaves unapplied, and RescaleSlope/Intercept.
func (in *instance) decodePixels(dst []float32) error {
	if err := in.checkPixelFormat(); err != nil {
		return err
	}
	n := in.rows * in.cols
	if len(dst) != n {
		return fmt.Errorf("internal: destination holds %d pixels, image has %d", len(dst), n)
	}
	var vals []uint32
	var err error
	ts := in.raw.syntax
	if !in.raw.encapsulated {
		bps := in.bitsAllocated / 8
		var bo binary.ByteOrder = binary.LittleEndian
		if in.raw.bigEndian {
			bo = binary.BigEndian
		}
		vals = make([]uint32, n)
		src := in.raw.native
		switch bps {
		case 1:
			for i := range vals {
				vals[i] = uint32(src[i])
			}
		case 2:
			for i := range vals {
				vals[i] = uint32(bo.Uint16(src[2*i:]))
			}
		default:
			for i := range vals {
				vals[i] = bo.Uint32(src[4*i:])
			}
		}
		return in.store(dst, vals)
	}
	frame := bytes.Join(in.raw.fragments, nil)
	switch ts {
	case tsRLE:
		vals, err = decodeRLE(frame, in.rows, in.cols, in.bitsAllocated/8)
	case tsJPEGLossless, tsJPEGLosslessSV1:
		var prec int
		vals, prec, err = decodeLosslessJPEG(frame, in.rows, in.cols)
		if err == nil && prec > in.bitsAllocated {
			err = fmt.Errorf("JPEG precision %d exceeds BitsAllocated %d", prec, in.bitsAllocated)
		}
	case tsJPEGBaseline:
		vals, err = decodeBaselineJPEG(frame, in.rows, in.cols)
	case tsJPEG2000Lossless, tsJPEG2000, tsJPEGLSLossless, tsJPEGLSNearLossless:
		if !externalCodecs {
			return fmt.Errorf("compressed pixel data in %s cannot be decoded: %w; or convert the series to an uncompressed, RLE or JPEG lossless transfer syntax (for example with gdcmconv --raw)", syntaxName(ts), errNoCodecs)
		}
		if ts == tsJPEG2000Lossless || ts == tsJPEG2000 {
			vals, err = decodeJPEG2000(frame, in.rows, in.cols)
		} else {
			vals, err = decodeJPEGLS(frame, in.rows, in.cols)
		}
	default:
		return fmt.Errorf("compressed pixel data in %s cannot be decoded: convert the series to an uncompressed, RLE or JPEG lossless transfer syntax (for example with gdcmconv --raw)", syntaxName(ts))
	}
	if err != nil {
		return fmt.Errorf("%s pixel data: %w", syntaxName(ts), err)
	}
	return in.store(dst, vals)
}

// store converts raw stored values to rescaled floats: keep BitsStored bits,
// sign-extend them for two's complement data, then slope and intercept.
func (in *instance) store(dst []float32, raw []uint32) error {
	bits := uint(in.bitsStored)
	mask := uint32(1)<<bits - 1
	if bits >= 32 {
		mask = ^uint32(0)
	}
	signBit := uint32(1) << (bits - 1)
	slope, inter := in.slope, in.inter
	for i := range dst {
		u := raw[i] & mask
		var v float64
		if in.pixelRep == 1 && u&signBit != 0 {
			v = float64(int64(u) - int64(mask) - 1)
		} else {
			v = float64(u)
		}
		dst[i] = float32(v*slope + inter)
	}
	return nil
}

// decodeBaselineJPEG decodes 8-bit greyscale baseline JPEG with Go's decoder.
func decodeBaselineJPEG(frame []byte, rows, cols int) ([]uint32, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(frame))
	if err != nil {
		return nil, err
	}
	if cfg.Width != cols || cfg.Height != rows {
		return nil, fmt.Errorf("image is %dx%d, header says %dx%d", cfg.Width, cfg.Height, cols, rows)
	}
	img, err := jpeg.Decode(bytes.NewReader(frame))
	if err != nil {
		return nil, err
	}
	g, ok := img.(*image.Gray)
	if !ok {
		return nil, fmt.Errorf("colour JPEG (%T) in a greyscale series", img)
	}
	out := make([]uint32, rows*cols)
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			out[y*cols+x] = uint32(g.Pix[y*g.Stride+x])
		}
	}
	return out, nil
}
