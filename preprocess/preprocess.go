// Package preprocess turns a case's four MR sequences into what the model
// sees, and records what it did so that results can be mapped back exactly
// (as nnU-Net's preprocessing does):
//
//  1. bias-field correction of each sequence (package bias, N4);
//  2. rigid coregistration of T1, T2 and FLAIR to the T1c (package register,
//     Mattes mutual information);
//  3. one resampling of each corrected sequence, through its registration,
//     onto a 1 x 1 x 1 mm grid with the T1c's axes (reordered to the closest
//     RAS) covering the head: no chained interpolation;
//  4. skull stripping from the four resampled sequences (package skull);
//  5. z-score normalisation of each sequence inside the brain mask (0
//     outside).
//
// Each step is usable alone through its package; Run does them in order.
package preprocess

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"metascope/job"
	"metascope/preprocess/bias"
	"metascope/preprocess/internal/imgops"
	"metascope/preprocess/register"
	"metascope/preprocess/skull"
	"metascope/volume"
)

// Inputs are a case's four sequences, indexed by volume.Sequence (T1, T2,
// T1c, FLAIR), each on its own grid as acquired. The T1c's grid is the
// case's reference.
type Inputs struct {
	Images [4]*volume.Volume
}

// Options holds each step's options. Validate checks them all once.
type Options struct {
	// SkipBias turns bias correction off (for images already corrected).
	SkipBias bool             `json:"skip_bias"`
	Bias     bias.Options     `json:"bias"`
	Register register.Options `json:"register"`
	Skull    skull.Options    `json:"skull"`
	// SpacingMM is the output voxel size (1 mm for the model).
	SpacingMM float64 `json:"spacing_mm"`
	// MarginMM pads the head's bounding box on each side of the output grid.
	MarginMM float64 `json:"margin_mm"`
}

// DefaultOptions is the pipeline as the model was trained with it.
func DefaultOptions() Options {
	return Options{Bias: bias.DefaultOptions(), Register: register.DefaultOptions(), Skull: skull.DefaultOptions(),
		SpacingMM: 1, MarginMM: 8}
}

// Validate names the first invalid field.
func (o Options) Validate() error {
	if !o.SkipBias {
		if err := o.Bias.Validate(); err != nil {
			return err
		}
	}
	if err := o.Register.Validate(); err != nil {
		return err
	}
	if err := o.Skull.Validate(); err != nil {
		return err
	}
	if !(o.SpacingMM >= 0.25) || o.SpacingMM > 4 {
		return fmt.Errorf("preprocess: SpacingMM %g must be in [0.25, 4]", o.SpacingMM)
	}
	if !(o.MarginMM >= 0) || o.MarginMM > 50 {
		return fmt.Errorf("preprocess: MarginMM %g must be in [0, 50]", o.MarginMM)
	}
	return nil
}

// SequenceTransform records a sequence's registration to the reference.
type SequenceTransform struct {
	Sequence string `json:"sequence"`
	// ReferenceToSequence maps reference (T1c) world mm to the sequence's
	// world mm: the sequence's voxel under reference point x is at
	// inverse(sequence affine) * ReferenceToSequence * x. Identity for T1c.
	ReferenceToSequence volume.Affine `json:"reference_to_sequence"`
	// Rigid are its parameters (zero for T1c), with the registration's
	// final mutual information and per-level record.
	Rigid  register.Rigid   `json:"rigid"`
	MI     float64          `json:"mutual_information"`
	Levels []register.Level `json:"levels,omitempty"`
}

// ZScore is the normalisation applied to a sequence: (x - Mean) / Std
// inside the brain mask, 0 outside.
type ZScore struct {
	Sequence string  `json:"sequence"`
	Mean     float64 `json:"mean"`
	Std      float64 `json:"std"`
}

// Timing is one step's wall-clock time.
type Timing struct {
	Step    string  `json:"step"`
	Seconds float64 `json:"seconds"`
}

// Result is the preprocessed case.
type Result struct {
	// Images are the four sequences on Grid, z-scored inside BrainMask.
	Images [4]*volume.Volume
	// BrainMask is on Grid.
	BrainMask *volume.Label
	// Grid is the output grid (SpacingMM voxels, T1c axes reordered to
	// RAS, covering the head); ReferenceGrid is the T1c's own grid, where
	// labels are drawn. ToReference maps Grid to it.
	Grid, ReferenceGrid volume.Grid
	Transforms          [4]SequenceTransform
	Normalisation       [4]ZScore
	// BiasIterations is N4's total iteration count per sequence (0 when
	// skipped).
	BiasIterations [4]int
	Timings        []Timing
	Options        Options
}

// TotalSeconds sums the step timings.
func (r *Result) TotalSeconds() float64 {
	var s float64
	for _, t := range r.Timings {
		s += t.Seconds
	}
	return s
}

// LabelToReference maps a label map on r.Grid (a prediction) to the T1c
// grid by nearest neighbour. Both grids share the reference world, so this
// is the exact inverse of the preprocessing geometry.
func (r *Result) LabelToReference(l *volume.Label) (*volume.Label, error) {
	if !l.Grid.SameGeometry(r.Grid, 1e-4) {
		return nil, errors.New("preprocess: label is not on the preprocessed grid")
	}
	return volume.ResampleLabel(l, r.ReferenceGrid), nil
}

// VolumeToReference maps an image on r.Grid (a probability map) to the T1c
// grid by trilinear interpolation.
func (r *Result) VolumeToReference(v *volume.Volume) (*volume.Volume, error) {
	if !v.Grid.SameGeometry(r.Grid, 1e-4) {
		return nil, errors.New("preprocess: image is not on the preprocessed grid")
	}
	return volume.Resample(v, r.ReferenceGrid), nil
}

// AlignToReference resamples an original image of sequence s (on its own
// grid, as given to Run) into the T1c grid through its registration, in
// one interpolation: what a viewer shows beside the T1c.
func (r *Result) AlignToReference(s volume.Sequence, img *volume.Volume) *volume.Volume {
	return volume.ResampleTransformed(img, r.ReferenceGrid, r.Transforms[s].ReferenceToSequence, volume.Linear)
}

// minOverlap is the least fraction of the smaller field of view that two
// sequences' fields must share before registration is attempted.
const minOverlap = 0.2

// Validate checks Inputs: four present, valid grids, finite values, some
// contrast, and fields of view that overlap the T1c's.
func (in Inputs) Validate() error {
	for _, s := range volume.Sequences {
		v := in.Images[s]
		if v == nil {
			return fmt.Errorf("preprocess: %s image is missing", s.Title())
		}
		if err := v.Grid.Validate(); err != nil {
			return fmt.Errorf("preprocess: %s image: %w", s.Title(), err)
		}
		if len(v.Data) != v.Len() {
			return fmt.Errorf("preprocess: %s image has %d values for %v voxels", s.Title(), len(v.Data), v.Dims)
		}
		if err := imgops.CheckFinite(v.Data); err != nil {
			return fmt.Errorf("preprocess: %s image: %w", s.Title(), err)
		}
		lo, hi := v.Range()
		if hi <= lo {
			if hi == 0 {
				return fmt.Errorf("preprocess: %s image is empty (all voxels %g)", s.Title(), hi)
			}
			return fmt.Errorf("preprocess: %s image is constant (all voxels %g)", s.Title(), hi)
		}
		if min(v.Dims[0], v.Dims[1], v.Dims[2]) < 4 {
			return fmt.Errorf("preprocess: %s image is %v voxels; need at least 4 per axis", s.Title(), v.Dims)
		}
	}
	ref := in.Images[volume.T1c]
	for _, s := range []volume.Sequence{volume.T1, volume.T2, volume.FLAIR} {
		if f := overlapFraction(ref.Grid, in.Images[s].Grid); f < minOverlap {
			return fmt.Errorf("preprocess: the %s and T1c fields of view do not overlap (%.0f %% shared; the files may not be from one study)",
				s.Title(), 100*f)
		}
	}
	return nil
}

// Run preprocesses a case. progress receives the stage and overall
// fraction done; ctx cancels between and within steps.
func Run(ctx context.Context, in Inputs, opts Options, progress job.Progress) (res *Result, err error) {
	// A bug must not take the GUI down with it: turn a panic into an error.
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("preprocess: internal error: %v", r)
		}
	}()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	res = &Result{ReferenceGrid: in.Images[volume.T1c].Grid, Options: opts}
	timed := func(step string, f func() error) error {
		start := time.Now()
		err := f()
		res.Timings = append(res.Timings, Timing{Step: step, Seconds: time.Since(start).Seconds()})
		return err
	}

	// 1. Bias correction, two sequences at a time on two cores (N4's
	// shrunk-grid iterations are serial; its full-resolution steps share
	// the cores).
	corrected := in.Images
	if !opts.SkipBias {
		err := timed("bias correction", func() error {
			return correctAll(ctx, in, opts.Bias, &corrected, &res.BiasIterations, progress.Sub(0, 0.3))
		})
		if err != nil {
			return nil, err
		}
	}

	// 2. Registration of T1, T2, FLAIR to T1c.
	ref := corrected[volume.T1c]
	res.Transforms[volume.T1c] = SequenceTransform{Sequence: volume.T1c.String(), ReferenceToSequence: volume.Identity(),
		Rigid: register.Rigid{}}
	err = timed("registration", func() error {
		moving := []volume.Sequence{volume.T1, volume.T2, volume.FLAIR}
		for i, s := range moving {
			p := progress.Sub(0.3+0.4*float64(i)/3, 0.3+0.4*float64(i+1)/3)
			r, err := register.Register(ctx, ref, corrected[s], nil, opts.Register, func(stage string, f float64) {
				p(stage+" "+s.Title(), f)
			})
			if err != nil {
				return fmt.Errorf("preprocess: registering %s to T1c: %w", s.Title(), err)
			}
			res.Transforms[s] = SequenceTransform{Sequence: s.String(), ReferenceToSequence: r.Transform.Matrix(),
				Rigid: r.Transform, MI: r.MI, Levels: r.Levels}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// 3. One resampling per sequence onto the output grid.
	var onGrid [4]*volume.Volume
	err = timed("resampling", func() error {
		g, err := OutputGrid(ref, opts.SpacingMM, opts.MarginMM)
		if err != nil {
			return err
		}
		res.Grid = g
		for i, s := range volume.Sequences {
			if err := ctx.Err(); err != nil {
				return err
			}
			onGrid[s] = volume.ResampleTransformed(corrected[s], g, res.Transforms[s].ReferenceToSequence, volume.Linear)
			progress.Report("resampling", 0.7+0.05*float64(i+1)/4)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// 4. Skull stripping.
	err = timed("skull stripping", func() error {
		// Erosion must span two voxels of the T1c as acquired, whatever the
		// output grid: partial volume lives at the acquired resolution.
		so := opts.Skull
		sp := res.ReferenceGrid.Spacing()
		so.ErodeMM = math.Max(so.ErodeMM, 2*math.Max(sp[0], math.Max(sp[1], sp[2])))
		m, err := skull.Strip(ctx, skull.Images{T1: onGrid[volume.T1], T2: onGrid[volume.T2], T1c: onGrid[volume.T1c],
			FLAIR: onGrid[volume.FLAIR]}, so, progress.Sub(0.75, 0.95))
		if err != nil {
			return fmt.Errorf("preprocess: %w", err)
		}
		res.BrainMask = m
		return nil
	})
	if err != nil {
		return nil, err
	}

	// 5. Z-score inside the brain.
	err = timed("normalisation", func() error {
		mask := imgops.MaskToBool(res.BrainMask)
		for _, s := range volume.Sequences {
			z, zs, err := ZScoreNormalise(onGrid[s], mask)
			if err != nil {
				return fmt.Errorf("preprocess: normalising %s: %w", s.Title(), err)
			}
			zs.Sequence = s.String()
			res.Images[s], res.Normalisation[s] = z, zs
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	progress.Report("done", 1)
	return res, nil
}

// correctAll runs N4 on the four sequences, as many at once as there are
// CPUs.
func correctAll(ctx context.Context, in Inputs, opts bias.Options, out *[4]*volume.Volume, iters *[4]int, progress job.Progress) error {
	var mu sync.Mutex
	done := [4]float64{}
	report := func() {
		var s float64
		for _, d := range done {
			s += d
		}
		progress.Report("bias correction", s/4)
	}
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for _, s := range volume.Sequences {
		wg.Add(1)
		go func(s volume.Sequence) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := bias.Correct(ctx, in.Images[s], nil, opts, func(_ string, f float64) {
				mu.Lock()
				done[s] = f
				report()
				mu.Unlock()
			})
			if err != nil {
				errs[s] = fmt.Errorf("preprocess: bias correction of %s: %w", s.Title(), err)
				return
			}
			out[s] = r.Corrected
			iters[s] = r.Iterations
		}(s)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ZScoreNormalise returns (v - mean) / std inside mask and 0 outside, with
// the mean and std used.
func ZScoreNormalise(v *volume.Volume, mask []bool) (*volume.Volume, ZScore, error) {
	m, s, err := imgops.MeanStd(v.Data, mask)
	if err != nil {
		return nil, ZScore{}, err
	}
	if !(s > 0) {
		return nil, ZScore{}, errors.New("image is constant inside the brain mask")
	}
	out := &volume.Volume{Grid: v.Grid, Data: make([]float32, len(v.Data))}
	for i, x := range v.Data {
		if mask[i] {
			out.Data[i] = float32((float64(x) - m) / s)
		}
	}
	return out, ZScore{Mean: m, Std: s}, nil
}

// overlapFraction is the volume of the intersection of two grids' world
// bounding boxes over the smaller box's volume.
func overlapFraction(a, b volume.Grid) float64 {
	la, ha := worldBox(a)
	lb, hb := worldBox(b)
	inter, va, vb := 1.0, 1.0, 1.0
	for i := 0; i < 3; i++ {
		inter *= math.Max(0, math.Min(ha[i], hb[i])-math.Max(la[i], lb[i]))
		va *= ha[i] - la[i]
		vb *= hb[i] - lb[i]
	}
	return inter / math.Max(math.Min(va, vb), 1e-9)
}

// worldBox is the world bounding box of a grid's voxels (edges, not
// centres).
func worldBox(g volume.Grid) (lo, hi [3]float64) {
	for a := 0; a < 3; a++ {
		lo[a], hi[a] = math.Inf(1), math.Inf(-1)
	}
	for c := 0; c < 8; c++ {
		v := [3]float64{-0.5, -0.5, -0.5}
		for a := 0; a < 3; a++ {
			if c&(1<<a) != 0 {
				v[a] = float64(g.Dims[a]) - 0.5
			}
		}
		w := g.VoxelToWorld(v)
		for a := 0; a < 3; a++ {
			lo[a] = math.Min(lo[a], w[a])
			hi[a] = math.Max(hi[a], w[a])
		}
	}
	return lo, hi
}
