package nifti

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/klauspost/compress/gzip"

	"metascope/volume"
)

// maxDeflateRatio bounds how many bytes a gzip stream can expand to per
// compressed byte (deflate's limit is 1032:1). A header that asks for more
// data than its file could possibly hold is refused before any allocation.
const maxDeflateRatio = 1040

// source is an opened image: its header and where its voxel data lives.
type source struct {
	hdr      *rawHeader
	hdrPath  string
	dataPath string
}

// pairPaths returns the header and image file candidates for a path that
// names either half of a .hdr/.img pair (optionally gzipped).
func pairPaths(path string) (hdrs, imgs []string) {
	lower := strings.ToLower(path)
	for _, ext := range []string{".hdr.gz", ".hdr", ".img.gz", ".img"} {
		if strings.HasSuffix(lower, ext) {
			stem := path[:len(path)-len(ext)]
			return []string{stem + ".hdr", stem + ".hdr.gz"}, []string{stem + ".img", stem + ".img.gz"}
		}
	}
	return nil, nil
}

func firstExisting(paths []string) string {
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// openSource reads and checks the header of path (a .nii, .nii.gz, or either
// file of a .hdr/.img pair) and finds the file that holds its voxels.
func openSource(path string) (*source, error) {
	hdrPath := path
	hdrs, imgs := pairPaths(path)
	if hdrs != nil {
		hdrPath = firstExisting(hdrs)
		if hdrPath == "" {
			return nil, fmt.Errorf("no header file (%s or %s) for this image", hdrs[0], hdrs[1])
		}
	}
	h, err := readHeaderFile(hdrPath)
	if err != nil {
		return nil, err
	}
	s := &source{hdr: h, hdrPath: hdrPath, dataPath: hdrPath}
	if h.pair {
		if imgs == nil {
			return nil, fmt.Errorf("header says the voxels are in a separate .img file, but %s is not named .hdr or .img", hdrPath)
		}
		s.dataPath = firstExisting(imgs)
		if s.dataPath == "" {
			return nil, fmt.Errorf("image file %s (or %s) not found", imgs[0], imgs[1])
		}
	} else if hdrs != nil && hdrPath != path {
		// An .img named but its .hdr is a single-file header: unusual, refuse.
		return nil, fmt.Errorf("%s is a single-file NIfTI header, not a pair header", hdrPath)
	}
	return s, nil
}

func readHeaderFile(path string) (*rawHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, closeFn, err := maybeGunzip(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer closeFn()
	h, err := parseHeader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// maybeGunzip returns a reader of f's content, decompressed when f starts
// with the gzip magic (whatever its extension says).
func maybeGunzip(f *os.File) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(f, 1<<16)
	magic, err := br.Peek(2)
	if err != nil && len(magic) < 2 {
		if err == io.EOF {
			return nil, nil, errors.New("file is empty or too short to be NIfTI")
		}
		return nil, nil, err
	}
	if magic[0] != 0x1f || magic[1] != 0x8b {
		return br, func() {}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, nil, fmt.Errorf("bad gzip stream: %w", err)
	}
	return zr, func() { zr.Close() }, nil
}

// dataReader opens the voxel data of s, positioned at vox_offset, after
// checking that the file can hold need bytes there. For gzip files the
// check uses the deflate expansion limit, so a lying header is refused before
// anything is allocated; the exact length is verified while reading.
func (s *source) dataReader(need int64) (io.Reader, func(), error) {
	off, err := s.hdr.dataOffset()
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(s.dataPath)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	r, closeZ, err := maybeGunzip(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	closeAll := func() { closeZ(); f.Close() }
	_, plain := r.(*bufio.Reader)
	limit := st.Size()
	if !plain {
		limit = st.Size() * maxDeflateRatio
	}
	if off+need > limit {
		closeAll()
		if plain {
			return nil, nil, fmt.Errorf("file is truncated: header needs %d bytes of voxel data at offset %d, file has %d bytes", need, off, st.Size())
		}
		return nil, nil, fmt.Errorf("header needs %d bytes of voxel data at offset %d, more than a %d-byte gzip file can hold", need, off, st.Size())
	}
	if n, err := io.CopyN(io.Discard, r, off); err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("skipping to vox_offset %d (got %d bytes): %w", off, n, noEOF(err))
	}
	return r, closeAll, nil
}

// load reads the voxels of path as float32 with scaling applied.
func load(path string) (vol *volume.Volume, hdr *rawHeader, err error) {
	defer func() {
		if p := recover(); p != nil {
			vol, err = nil, fmt.Errorf("nifti: %s: internal error on this input: %v", path, p)
		}
	}()
	s, err := openSource(path)
	if err != nil {
		return nil, nil, fmt.Errorf("nifti: %w", withPath(path, err))
	}
	h := s.hdr
	fail := func(err error) error { return fmt.Errorf("nifti: %s: %w", s.dataPath, err) }
	dt, ok := datatypes[h.datatype]
	if !ok {
		return nil, nil, fail(fmt.Errorf("unknown datatype code %d", h.datatype))
	}
	if !dt.supported {
		return nil, nil, fail(fmt.Errorf("datatype %s is not supported (only scalar integer and float images)", dt.name))
	}
	dims, err := h.checkDims()
	if err != nil {
		return nil, nil, fail(err)
	}
	aff, _, err := h.bestAffine()
	if err != nil {
		return nil, nil, fail(err)
	}
	g := volume.Grid{Dims: dims, Affine: aff}
	if err := g.Validate(); err != nil {
		return nil, nil, fail(err)
	}
	n := int64(g.Len())
	r, closeFn, err := s.dataReader(n * int64(dt.size))
	if err != nil {
		return nil, nil, fail(err)
	}
	defer closeFn()
	out := make([]float32, n)
	if err := decode(r, h.order, h.datatype, dt.size, out); err != nil {
		return nil, nil, fail(fmt.Errorf("reading voxel data: %w", noEOF(err)))
	}
	if _, plain := r.(*bufio.Reader); !plain {
		// Read on to the end of the gzip stream (usually nothing is left)
		// so that its CRC is checked; trailing data beyond 64 KiB is left
		// unread.
		if _, err := io.CopyN(io.Discard, r, 1<<16); err != nil && err != io.EOF {
			return nil, nil, fail(fmt.Errorf("gzip stream: %w", err))
		}
	}
	if slope, inter, apply := h.scaling(); apply {
		for i, x := range out {
			out[i] = float32(float64(x)*slope + inter)
		}
	}
	return &volume.Volume{Grid: g, Data: out}, h, nil
}

func withPath(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, path) {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// decode reads len(out) voxels of the given datatype from r in chunks, so
// the raw bytes are never held in full next to the floats.
func decode(r io.Reader, order binary.ByteOrder, datatype, size int, out []float32) error {
	const chunkVoxels = 1 << 16
	buf := make([]byte, chunkVoxels*size)
	little := order == binary.LittleEndian
	for start := 0; start < len(out); start += chunkVoxels {
		end := min(start+chunkVoxels, len(out))
		b := buf[:(end-start)*size]
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		dst := out[start:end]
		switch datatype {
		case 2: // uint8
			for i := range dst {
				dst[i] = float32(b[i])
			}
		case 256: // int8
			for i := range dst {
				dst[i] = float32(int8(b[i]))
			}
		case 4: // int16
			if little {
				for i := range dst {
					dst[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:])))
				}
			} else {
				for i := range dst {
					dst[i] = float32(int16(binary.BigEndian.Uint16(b[2*i:])))
				}
			}
		case 512: // uint16
			for i := range dst {
				dst[i] = float32(order.Uint16(b[2*i:]))
			}
		case 8: // int32
			for i := range dst {
				dst[i] = float32(int32(order.Uint32(b[4*i:])))
			}
		case 768: // uint32
			for i := range dst {
				dst[i] = float32(order.Uint32(b[4*i:]))
			}
		case 1024: // int64
			for i := range dst {
				dst[i] = float32(int64(order.Uint64(b[8*i:])))
			}
		case 1280: // uint64
			for i := range dst {
				dst[i] = float32(order.Uint64(b[8*i:]))
			}
		case 16: // float32
			if little {
				for i := range dst {
					dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
				}
			} else {
				for i := range dst {
					dst[i] = math.Float32frombits(binary.BigEndian.Uint32(b[4*i:]))
				}
			}
		case 64: // float64
			for i := range dst {
				dst[i] = float32(math.Float64frombits(order.Uint64(b[8*i:])))
			}
		default:
			return fmt.Errorf("datatype code %d cannot be decoded", datatype)
		}
	}
	return nil
}
