package inference

import (
	"errors"
	"fmt"
)

// Config is the architecture. The zero value is not valid; start from
// DefaultConfig. Validate is called by everything that builds a network.
type Config struct {
	// InChannels is the number of input sequences (4: T1, T2, T1c, FLAIR in
	// volume.Sequences order).
	InChannels int `json:"in_channels"`
	// Channels are the feature maps of the conv layers of each pathway.
	Channels []int `json:"channels"`
	// Kernel is the conv kernel size (odd).
	Kernel int `json:"kernel"`
	// Residual lists the layers (1-based) whose output gets the output of
	// the layer two before added, centre-cropped (DeepMedic: 4, 6, 8).
	Residual []int `json:"residual"`
	// Factor is the low-resolution pathway's downsampling factor.
	Factor int `json:"factor"`
	// FC are the feature maps of the fully connected (1x1x1) layers.
	FC []int `json:"fc"`
	// Dropout is the drop rate after each FC layer during training.
	Dropout float64 `json:"dropout"`
	// BNMomentum is the weight of a new batch in batch norm's running
	// statistics; BNEps is added to the variance.
	BNMomentum float64 `json:"bn_momentum"`
	BNEps      float64 `json:"bn_eps"`
}

// DefaultConfig is the study's network.
func DefaultConfig() Config {
	return Config{
		InChannels: 4,
		Channels:   []int{30, 30, 40, 40, 40, 40, 50, 50},
		Kernel:     3,
		Residual:   []int{4, 6, 8},
		Factor:     3,
		FC:         []int{150, 150},
		Dropout:    0.5,
		BNMomentum: 0.1,
		BNEps:      1e-5,
	}
}

// Validate reports the first field that cannot build a network.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.InChannels < 1 || c.InChannels > 64 {
		bad("in_channels %d: must be 1..64", c.InChannels)
	}
	if len(c.Channels) < 1 || len(c.Channels) > 32 {
		bad("channels: %d layers, must be 1..32", len(c.Channels))
	}
	for i, ch := range c.Channels {
		if ch < 1 || ch > 1024 {
			bad("channels[%d] = %d: must be 1..1024", i, ch)
		}
	}
	if c.Kernel < 1 || c.Kernel%2 == 0 || c.Kernel > 7 {
		bad("kernel %d: must be odd, 1..7", c.Kernel)
	}
	seen := map[int]bool{}
	for _, r := range c.Residual {
		if r < 3 || r > len(c.Channels) || seen[r] {
			bad("residual layer %d: must be distinct, 3..%d", r, len(c.Channels))
		}
		seen[r] = true
	}
	if c.Factor < 1 || c.Factor > 9 {
		bad("factor %d: must be 1..9", c.Factor)
	}
	if len(c.FC) > 8 {
		bad("fc: %d layers, at most 8", len(c.FC))
	}
	for i, ch := range c.FC {
		if ch < 1 || ch > 4096 {
			bad("fc[%d] = %d: must be 1..4096", i, ch)
		}
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		bad("dropout %g: must be in [0, 1)", c.Dropout)
	}
	if !(c.BNMomentum > 0 && c.BNMomentum <= 1) {
		bad("bn_momentum %g: must be in (0, 1]", c.BNMomentum)
	}
	if !(c.BNEps > 0 && c.BNEps < 1) {
		bad("bn_eps %g: must be in (0, 1)", c.BNEps)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network config: %w", err)
	}
	return nil
}

// Geometry is what the tiler and the patch sampler need to know about the
// network's shape; it is derived from a valid Config.
type Geometry struct {
	// Factor: output sizes must be multiples of it, and so must tile
	// origins, so that the low-resolution pathway's blocks line up across
	// tiles.
	Factor int
	// Align is what tile origins are multiples of: Factor, and even, because
	// the CPU backend's Winograd convolution pairs outputs along the width;
	// with both, tiles compute bit for bit what one pass over the whole
	// brain computes.
	Align int
	// Margin is the number of input voxels lost on each side: the input
	// block for an output block of size n is n + 2*Margin.
	Margin int
	// NormalMargin and LowMargin are the margins of each pathway (the low
	// one in full-resolution voxels); Margin is the larger, rounded up to a
	// multiple of Factor.
	NormalMargin, LowMargin int
	// ReceptiveField is the widest input extent (voxels) that influences
	// one output voxel.
	ReceptiveField int
}

// Geometry derives the network's geometry; c must be valid.
func (c Config) Geometry() Geometry {
	half := (c.Kernel - 1) / 2
	mn := len(c.Channels) * half
	ml := c.Factor * len(c.Channels) * half
	m := max(mn, ml)
	m = (m + c.Factor - 1) / c.Factor * c.Factor
	align := c.Factor
	if align%2 != 0 {
		align *= 2
	}
	return Geometry{
		Factor: c.Factor, Align: align, Margin: m, NormalMargin: mn, LowMargin: ml,
		ReceptiveField: max(2*mn+1, c.Factor*(2*len(c.Channels)*half+1)),
	}
}

// InputSize is the input extent needed for an output extent out along one
// axis; out must be a positive multiple of Factor.
func (g Geometry) InputSize(out int) (int, error) {
	if out <= 0 || out%g.Factor != 0 {
		return 0, fmt.Errorf("output size %d: must be a positive multiple of %d", out, g.Factor)
	}
	return out + 2*g.Margin, nil
}

// OutputSize is the valid output extent of an input extent in; it fails
// unless in - 2*Margin is a positive multiple of Factor.
func (g Geometry) OutputSize(in int) (int, error) {
	out := in - 2*g.Margin
	if out <= 0 || out%g.Factor != 0 {
		return 0, fmt.Errorf("input size %d: output %d is not a positive multiple of %d", in, out, g.Factor)
	}
	return out, nil
}

// ParamCount is the number of float32 values in a network of this config
// (trainable parameters and batch norm's running statistics), computed
// without building it, so that a weights file's claim can be checked
// before anything is allocated. c must be valid.
func (c Config) ParamCount() int64 {
	var n int64
	layer := func(cin, cout, k int, act bool) {
		n += int64(cout)*int64(cin)*int64(k*k*k) + int64(cout)
		if act {
			n += 5 * int64(cout)
		}
	}
	for p := 0; p < 2; p++ {
		cin := c.InChannels
		for _, ch := range c.Channels {
			layer(cin, ch, c.Kernel, true)
			cin = ch
		}
	}
	cin := 2 * c.Channels[len(c.Channels)-1]
	for _, ch := range c.FC {
		layer(cin, ch, 1, true)
		cin = ch
	}
	layer(cin, 1, 1, false)
	return n
}
