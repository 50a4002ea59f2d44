package consensus

import (
	"fmt"
	"math"

	"metascope/volume"
)

// StapleOptions tune Staple. The zero value is not valid; start from
// DefaultStapleOptions.
type StapleOptions struct {
	// MarginVoxels widens the bounding box of the raters' union on every
	// side; the EM runs over the voxels of that box. Specificities are
	// therefore specificities within the box (a whole-brain figure would be
	// dominated by the millions of voxels nobody would ever mark).
	MarginVoxels int
	// MaxIterations bounds the EM; Tolerance stops it when no sensitivity
	// or specificity moves by more than this between iterations.
	MaxIterations int
	Tolerance     float64
	// Init is the starting sensitivity and specificity of every rater.
	Init float64
}

// DefaultStapleOptions: a 5-voxel margin, at most 100 iterations, stop at
// a change below 1e-7, start every rater at 0.99 (the EM assumes good
// raters to start with, which picks the non-inverted solution).
func DefaultStapleOptions() StapleOptions {
	return StapleOptions{MarginVoxels: 5, MaxIterations: 100, Tolerance: 1e-7, Init: 0.99}
}

// Validate checks the options once.
func (o StapleOptions) Validate() error {
	switch {
	case o.MarginVoxels < 0:
		return fmt.Errorf("staple: MarginVoxels %d is negative", o.MarginVoxels)
	case o.MaxIterations < 1:
		return fmt.Errorf("staple: MaxIterations %d must be at least 1", o.MaxIterations)
	case !(o.Tolerance > 0):
		return fmt.Errorf("staple: Tolerance %g must be positive", o.Tolerance)
	case !(o.Init > 0.5 && o.Init < 1):
		return fmt.Errorf("staple: Init %g must be in (0.5, 1)", o.Init)
	}
	return nil
}

// MaxStapleRaters bounds the raters of one STAPLE run (the EM works on the
// 2^raters decision patterns).
const MaxStapleRaters = 16

// StapleResult is STAPLE's estimate of the true segmentation and of each
// rater's performance.
type StapleResult struct {
	// Sensitivity[j] and Specificity[j] are rater j's estimated
	// P(marks | lesion) and P(leaves | background), within the box.
	Sensitivity, Specificity []float64
	// Prior is the fixed prior probability of lesion: the mean over raters
	// of the fraction of the box each marked.
	Prior float64
	// Probability is the posterior probability of lesion per voxel (0
	// outside the box); Label is Probability >= 0.5, the proposed outline.
	Probability *volume.Volume
	Label       *volume.Label
	// BoxMin and BoxMax bound the box the EM ran over (inclusive).
	BoxMin, BoxMax [3]int
	Iterations     int
	Converged      bool
}

// Staple runs the binary STAPLE algorithm (Warfield, Zou, Wells,
// "Simultaneous truth and performance level estimation", IEEE TMI 2004)
// on two or more raters' maps of one grid (non-zero = lesion), by EM over
// the voxels of the raters' union's bounding box plus a margin.
//
// The posterior of a voxel depends only on which raters marked it, so the
// EM runs on the histogram of the 2^R decision patterns: one pass over the
// voxels, then iterations that cost O(2^R R) whatever the volume's size.
// This gives exactly the per-voxel EM's answer.
func Staple(raters []*volume.Label, opts StapleOptions) (*StapleResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	R := len(raters)
	if R < 2 || R > MaxStapleRaters {
		return nil, fmt.Errorf("staple: %d raters; want 2 to %d", R, MaxStapleRaters)
	}
	g := raters[0].Grid
	for j, r := range raters {
		if r == nil || r.Dims != g.Dims || len(r.Data) != g.Len() {
			return nil, fmt.Errorf("staple: rater %d is not on rater 0's grid", j)
		}
	}
	res := &StapleResult{Probability: volume.New(g), Label: volume.NewLabel(g)}
	nx, ny, nz := g.Dims[0], g.Dims[1], g.Dims[2]
	lo, hi := [3]int{nx, ny, nz}, [3]int{-1, -1, -1}
	for v := range g.Len() {
		for _, r := range raters {
			if r.Data[v] != 0 {
				p := [3]int{v % nx, (v / nx) % ny, v / (nx * ny)}
				for d := range 3 {
					lo[d], hi[d] = min(lo[d], p[d]), max(hi[d], p[d])
				}
				break
			}
		}
	}
	res.Sensitivity, res.Specificity = make([]float64, R), make([]float64, R)
	if hi[0] < 0 {
		// Nobody marked anything: nothing to estimate, nothing proposed.
		for j := range R {
			res.Sensitivity[j], res.Specificity[j] = math.NaN(), 1
		}
		res.Converged = true
		return res, nil
	}
	for d := range 3 {
		lo[d] = max(0, lo[d]-opts.MarginVoxels)
		hi[d] = min(g.Dims[d]-1, hi[d]+opts.MarginVoxels)
	}
	res.BoxMin, res.BoxMax = lo, hi

	// Histogram of decision patterns in the box.
	np := 1 << R
	count := make([]float64, np)
	marked := make([]float64, R)
	var total float64
	pattern := func(v int) int {
		p := 0
		for j, r := range raters {
			if r.Data[v] != 0 {
				p |= 1 << j
			}
		}
		return p
	}
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			row := g.Index(0, j, k)
			for i := lo[0]; i <= hi[0]; i++ {
				count[pattern(row+i)]++
			}
		}
	}
	for p, n := range count {
		total += n
		for j := range R {
			if p&(1<<j) != 0 {
				marked[j] += n
			}
		}
	}
	var prior float64
	for j := range R {
		prior += marked[j] / total
	}
	prior /= float64(R)
	res.Prior = prior

	sens, spec := res.Sensitivity, res.Specificity
	for j := range R {
		sens[j], spec[j] = opts.Init, opts.Init
	}
	w := make([]float64, np)
	estep := func() {
		for p := range np {
			a, b := prior, 1-prior
			for j := range R {
				if p&(1<<j) != 0 {
					a *= sens[j]
					b *= 1 - spec[j]
				} else {
					a *= 1 - sens[j]
					b *= spec[j]
				}
			}
			if a+b > 0 {
				w[p] = a / (a + b)
			} else {
				w[p] = 0
			}
		}
	}
	for it := 1; it <= opts.MaxIterations; it++ {
		estep()
		var sumW, sumNW float64
		tp, tn := make([]float64, R), make([]float64, R)
		for p, n := range count {
			if n == 0 {
				continue
			}
			fw, fb := n*w[p], n*(1-w[p])
			sumW += fw
			sumNW += fb
			for j := range R {
				if p&(1<<j) != 0 {
					tp[j] += fw
				} else {
					tn[j] += fb
				}
			}
		}
		var change float64
		for j := range R {
			ns, nq := sens[j], spec[j]
			if sumW > 0 {
				ns = tp[j] / sumW
			}
			if sumNW > 0 {
				nq = tn[j] / sumNW
			}
			change = max(change, math.Abs(ns-sens[j]), math.Abs(nq-spec[j]))
			sens[j], spec[j] = ns, nq
		}
		res.Iterations = it
		if change < opts.Tolerance {
			res.Converged = true
			break
		}
	}
	estep()
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			row := g.Index(0, j, k)
			for i := lo[0]; i <= hi[0]; i++ {
				v := row + i
				pw := w[pattern(v)]
				res.Probability.Data[v] = float32(pw)
				if pw >= 0.5 {
					res.Label.Data[v] = 1
				}
			}
		}
	}
	return res, nil
}
