package training

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"metascope/inference"
	"metascope/internal/atomicfile"
)

// trainCase is what patch sampling needs of a case: the preprocessed
// sequences and label cropped to the box of the brain (and label), since
// outside the brain the z-scored images are 0, which is also what patches
// are padded with. It is cached uncompressed next to the preprocessing
// (TrainCacheFile), so that an epoch re-reads a case in milliseconds rather
// than decompressing four NIfTI files.
type trainCase struct {
	Name   string
	Dims   [3]int
	Images [4][]float32
	Label  []uint8
	// lesion and background are the voxel indices patches are centred on:
	// label voxels, and brain voxels outside the label.
	lesion, background []int32
}

// TrainCacheFile is the name of the cropped training copy of a case in its
// preprocessing folder.
const TrainCacheFile = "training-crop.bin"

const trainCacheMagic = "MSTRAIN1"

type trainCacheHeader struct {
	Name string `json:"name"`
	Dims [3]int `json:"dims"`
}

func (t *trainCase) voxels() int { return t.Dims[0] * t.Dims[1] * t.Dims[2] }

// cropSample builds the training copy of a sample.
func cropSample(s *Sample) (*trainCase, error) {
	lo, hi, ok := inference.BoundingBox(s.Pre.BrainMask)
	if !ok {
		return nil, fmt.Errorf("case %s: empty brain mask", s.Name)
	}
	if llo, lhi, ok := inference.BoundingBox(s.Label); ok {
		for a := 0; a < 3; a++ {
			lo[a], hi[a] = min(lo[a], llo[a]), max(hi[a], lhi[a])
		}
	}
	t := &trainCase{Name: s.Name}
	for a := 0; a < 3; a++ {
		t.Dims[a] = hi[a] - lo[a] + 1
	}
	n := t.voxels()
	for c := range t.Images {
		t.Images[c] = make([]float32, 0, n)
	}
	t.Label = make([]uint8, 0, n)
	g := s.Pre.Grid
	brain := make([]bool, 0, n)
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			a, b := g.Index(lo[0], j, k), g.Index(hi[0], j, k)+1
			for c, img := range s.Pre.Images {
				t.Images[c] = append(t.Images[c], img.Data[a:b]...)
			}
			t.Label = append(t.Label, s.Label.Data[a:b]...)
			for _, m := range s.Pre.BrainMask.Data[a:b] {
				brain = append(brain, m != 0)
			}
		}
	}
	t.index(brain)
	return t, nil
}

func (t *trainCase) index(brain []bool) {
	for i, l := range t.Label {
		switch {
		case l != 0:
			t.lesion = append(t.lesion, int32(i))
		case brain[i]:
			t.background = append(t.background, int32(i))
		}
	}
}

// writeTrainCache writes t to path: magic, header length and JSON header,
// then the four images as little-endian float32, the label and the brain
// mask as bytes.
func writeTrainCache(path string, t *trainCase, brain []bool) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		hdr, err := json.Marshal(trainCacheHeader{Name: t.Name, Dims: t.Dims})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, trainCacheMagic); err != nil {
			return err
		}
		if err := binary.Write(w, binary.LittleEndian, uint32(len(hdr))); err != nil {
			return err
		}
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		for _, img := range t.Images {
			if err := binary.Write(w, binary.LittleEndian, img); err != nil {
				return err
			}
		}
		if _, err := w.Write(t.Label); err != nil {
			return err
		}
		mask := make([]byte, len(brain))
		for i, b := range brain {
			if b {
				mask[i] = 1
			}
		}
		_, err = w.Write(mask)
		return err
	})
}

// readTrainCache reads a file written by writeTrainCache, checking every
// size against the file's length before allocating.
func readTrainCache(path string) (*trainCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	bad := func(what string) error { return fmt.Errorf("%s: %s", path, what) }
	if len(data) < 12 || string(data[:8]) != trainCacheMagic {
		return nil, bad("not a training cache file")
	}
	hl := int(binary.LittleEndian.Uint32(data[8:12]))
	if hl > len(data)-12 {
		return nil, bad("truncated header")
	}
	var h trainCacheHeader
	if err := json.Unmarshal(data[12:12+hl], &h); err != nil {
		return nil, bad(err.Error())
	}
	n := 1
	for _, d := range h.Dims {
		if d < 1 || d > 4096 {
			return nil, bad(fmt.Sprintf("dims %v", h.Dims))
		}
		n *= d
	}
	body := data[12+hl:]
	if len(body) != n*(4*4+2) {
		return nil, bad(fmt.Sprintf("%d bytes of data for dims %v, want %d", len(body), h.Dims, n*18))
	}
	t := &trainCase{Name: h.Name, Dims: h.Dims}
	r := bytes.NewReader(body)
	for c := range t.Images {
		t.Images[c] = make([]float32, n)
		if err := binary.Read(r, binary.LittleEndian, t.Images[c]); err != nil {
			return nil, bad(err.Error())
		}
	}
	t.Label = body[16*n : 17*n]
	brain := make([]bool, n)
	for i, m := range body[17*n:] {
		brain[i] = m != 0
	}
	t.index(brain)
	return t, nil
}

// loadTrainCase reads a case's training copy, making it (and the
// preprocessing, when missing) on first use.
func loadTrainCase(ctx context.Context, c Case) (*trainCase, error) {
	path := filepath.Join(c.PreprocDir, TrainCacheFile)
	if t, err := readTrainCache(path); err == nil {
		return t, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		// A bad cache is rebuilt from the preprocessing.
		_ = os.Remove(path)
	}
	s, err := LoadSample(ctx, c)
	if err != nil {
		return nil, err
	}
	t, err := cropSample(s)
	if err != nil {
		return nil, err
	}
	brain := make([]bool, t.voxels())
	for _, i := range t.background {
		brain[i] = true
	}
	for _, i := range t.lesion {
		brain[i] = true
	}
	if err := writeTrainCache(path, t, brain); err != nil {
		return nil, fmt.Errorf("case %s: %w", c.Name, err)
	}
	return t, nil
}
