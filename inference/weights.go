package inference

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"

	"metascope/inference/kernels"
	"metascope/internal/atomicfile"
)

// Weights file format, version 1 (".weights"). All integers little-endian.
//
//	offset  size  content
//	0       8     magic "MSWGHT\r\n" (the CR LF catches text-mode transfers)
//	8       4     uint32 format version (1)
//	12      4     uint32 header length H (at most 16 MiB)
//	16      H     JSON header (WeightsHeader): the network Config, the
//	              preprocessing the network expects, free-form metadata,
//	              and the tensor table: name, shape, byte offset into the
//	              payload, element count, in the order of Network.Params
//	16+H    P     payload: the tensors as float32, concatenated, no gaps
//	end-32  32    SHA-256 of every byte before it
//
// Loading verifies the magic, the version, the checksum, the config, and
// that the table names exactly the parameters the config's network has,
// each with its exact shape, before any value is used; any mismatch is an
// error naming the file.
const (
	weightsMagic   = "MSWGHT\r\n"
	weightsVersion = 1
	maxHeader      = 16 << 20
	maxWeightsFile = 2 << 30
)

// Preprocessing is what a network expects of its inputs; it travels in the
// weights file and model.json so that a model says how to feed it.
type Preprocessing struct {
	// SpacingMM is the voxel size the inputs are resampled to.
	SpacingMM [3]float64 `json:"spacing_mm"`
	// Normalisation names the intensity normalisation: "zscore-brain" is
	// zero mean, unit variance inside the brain mask, 0 outside.
	Normalisation string `json:"normalisation"`
	// Channels names the input sequences in channel order.
	Channels []string `json:"channels"`
}

// DefaultPreprocessing is the study's: 1 mm isotropic, z-scored inside the
// brain, channels T1, T2, T1c, FLAIR.
func DefaultPreprocessing() Preprocessing {
	return Preprocessing{SpacingMM: [3]float64{1, 1, 1}, Normalisation: "zscore-brain", Channels: []string{"t1", "t2", "t1c", "flair"}}
}

// TensorEntry is one row of the tensor table.
type TensorEntry struct {
	Name   string `json:"name"`
	Shape  []int  `json:"shape"`
	Offset int64  `json:"offset"` // bytes from the start of the payload
	Count  int64  `json:"count"`  // float32 elements
}

// WeightsHeader is the JSON header of a weights file.
type WeightsHeader struct {
	Format        string            `json:"format"` // "metascope-weights"
	Config        Config            `json:"config"`
	Preprocessing Preprocessing     `json:"preprocessing"`
	Meta          map[string]string `json:"meta,omitempty"`
	Tensors       []TensorEntry     `json:"tensors"`
}

// EncodeWeights writes n in the weights format.
func EncodeWeights(w io.Writer, n *Network, pre Preprocessing, meta map[string]string) error {
	h := WeightsHeader{Format: "metascope-weights", Config: n.Config, Preprocessing: pre, Meta: meta}
	var off int64
	for _, p := range n.Params() {
		h.Tensors = append(h.Tensors, TensorEntry{Name: p.Name, Shape: p.T.Shape, Offset: off, Count: int64(len(p.T.Data))})
		off += 4 * int64(len(p.T.Data))
	}
	js, err := json.Marshal(h)
	if err != nil {
		return err
	}
	sum := sha256.New()
	out := io.MultiWriter(w, sum)
	var pre16 [16]byte
	copy(pre16[:], weightsMagic)
	binary.LittleEndian.PutUint32(pre16[8:], weightsVersion)
	binary.LittleEndian.PutUint32(pre16[12:], uint32(len(js)))
	if _, err := out.Write(pre16[:]); err != nil {
		return err
	}
	if _, err := out.Write(js); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for _, p := range n.Params() {
		for _, v := range p.T.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := out.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if _, err := out.Write(buf); err != nil {
		return err
	}
	_, err = w.Write(sum.Sum(nil))
	return err
}

// SaveWeights writes n to path atomically.
func SaveWeights(path string, n *Network, pre Preprocessing, meta map[string]string) error {
	return atomicfile.Write(path, func(w io.Writer) error { return EncodeWeights(w, n, pre, meta) })
}

// DecodeWeights reads a weights file's bytes into a new network on be.
func DecodeWeights(data []byte, be kernels.Backend) (*Network, *WeightsHeader, error) {
	if len(data) < 16+32 || string(data[:8]) != weightsMagic {
		return nil, nil, errors.New("not a Metascope weights file (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != weightsVersion {
		return nil, nil, fmt.Errorf("weights format version %d; this program reads version %d", v, weightsVersion)
	}
	body := data[:len(data)-32]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], data[len(data)-32:]) {
		return nil, nil, errors.New("checksum mismatch: the file is corrupt or truncated")
	}
	hl := int64(binary.LittleEndian.Uint32(data[12:]))
	if hl > maxHeader || 16+hl > int64(len(body)) {
		return nil, nil, fmt.Errorf("header length %d does not fit the file", hl)
	}
	var h WeightsHeader
	dec := json.NewDecoder(bytes.NewReader(data[16 : 16+hl]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	if h.Format != "metascope-weights" {
		return nil, nil, fmt.Errorf("header format %q, want metascope-weights", h.Format)
	}
	if err := h.Config.Validate(); err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	payload := body[16+hl:]
	// Check the size the config implies before building (allocating) it.
	if want := 4 * h.Config.ParamCount(); want != int64(len(payload)) {
		return nil, nil, fmt.Errorf("payload is %d bytes, the network of its config needs %d", len(payload), want)
	}
	n, err := NewNetwork(h.Config, 0, be)
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	params := n.Params()
	if len(h.Tensors) != len(params) {
		return nil, nil, fmt.Errorf("%d tensors; the network of this config has %d", len(h.Tensors), len(params))
	}
	var want int64
	for i, p := range params {
		e := h.Tensors[i]
		if e.Name != p.Name {
			return nil, nil, fmt.Errorf("tensor %d is %q, want %q", i, e.Name, p.Name)
		}
		if !reflect.DeepEqual(e.Shape, p.T.Shape) || e.Count != int64(len(p.T.Data)) {
			return nil, nil, fmt.Errorf("tensor %q has shape %v (%d values), the network needs %v", e.Name, e.Shape, e.Count, p.T.Shape)
		}
		if e.Offset != want {
			return nil, nil, fmt.Errorf("tensor %q at payload offset %d, want %d", e.Name, e.Offset, want)
		}
		want += 4 * e.Count
	}
	if want != int64(len(payload)) {
		return nil, nil, fmt.Errorf("payload is %d bytes, the tensor table needs %d", len(payload), want)
	}
	for i, p := range params {
		src := payload[h.Tensors[i].Offset:]
		for j := range p.T.Data {
			v := math.Float32frombits(binary.LittleEndian.Uint32(src[4*j:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, nil, fmt.Errorf("tensor %q holds a non-finite value at %d", p.Name, j)
			}
			p.T.Data[j] = v
		}
	}
	for _, l := range append(append(append([]Layer(nil), n.Normal...), n.Low...), n.FC...) {
		for c, v := range l.BN.Var {
			if v < 0 {
				return nil, nil, fmt.Errorf("batch norm running variance %g < 0 (channel %d)", v, c)
			}
		}
	}
	return n, &h, nil
}

// LoadWeights reads the weights file at path into a new network on be (nil:
// the default backend). Errors name the file.
func LoadWeights(path string, be kernels.Backend) (*Network, *WeightsHeader, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("weights %s: %w", path, err)
	}
	if fi.Size() > maxWeightsFile {
		return nil, nil, fmt.Errorf("weights %s: %d bytes, more than any Metascope network", path, fi.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("weights %s: %w", path, err)
	}
	n, h, err := DecodeWeights(data, be)
	if err != nil {
		return nil, nil, fmt.Errorf("weights %s: %w", path, err)
	}
	return n, h, nil
}
