package imgops

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrNoVoxels is returned by statistics over an empty selection.
var ErrNoVoxels = errors.New("no voxels selected")

// CheckFinite returns an error naming the first NaN or infinite voxel.
func CheckFinite(data []float32) error {
	for i, x := range data {
		if x != x || math.IsInf(float64(x), 0) {
			return fmt.Errorf("voxel %d is %v; images must be finite", i, x)
		}
	}
	return nil
}

// Percentiles returns the requested percentiles (0..100) of data where mask
// is true (all voxels when mask is nil), estimated from at most maxSamples
// evenly strided voxels so that it stays cheap on whole heads.
func Percentiles(data []float32, mask []bool, ps []float64, maxSamples int) ([]float64, error) {
	n := len(data)
	stride := 1
	if maxSamples > 0 && n > maxSamples {
		// Count selected voxels first so the stride keeps enough samples.
		sel := n
		if mask != nil {
			sel = 0
			for _, m := range mask {
				if m {
					sel++
				}
			}
		}
		if sel > maxSamples {
			stride = sel / maxSamples
		}
	}
	vals := make([]float64, 0, min(n, maxSamples+1))
	c := 0
	for i, x := range data {
		if mask != nil && !mask[i] {
			continue
		}
		if c%stride == 0 {
			vals = append(vals, float64(x))
		}
		c++
	}
	if len(vals) == 0 {
		return nil, ErrNoVoxels
	}
	sort.Float64s(vals)
	out := make([]float64, len(ps))
	for i, p := range ps {
		pos := p / 100 * float64(len(vals)-1)
		lo := int(math.Floor(pos))
		hi := min(lo+1, len(vals)-1)
		f := pos - float64(lo)
		out[i] = vals[lo]*(1-f) + vals[hi]*f
	}
	return out, nil
}

// MeanStd returns the mean and standard deviation of data where mask is true.
func MeanStd(data []float32, mask []bool) (mean, std float64, err error) {
	var s, s2 float64
	n := 0
	for i, x := range data {
		if mask != nil && !mask[i] {
			continue
		}
		s += float64(x)
		n++
	}
	if n == 0 {
		return 0, 0, ErrNoVoxels
	}
	mean = s / float64(n)
	for i, x := range data {
		if mask != nil && !mask[i] {
			continue
		}
		d := float64(x) - mean
		s2 += d * d
	}
	return mean, math.Sqrt(s2 / float64(n)), nil
}

// Otsu returns the threshold between lo and hi that maximises the
// between-class variance of the histogram of data (bins bins) where mask is
// true. Values outside [lo, hi] are clamped into the end bins.
func Otsu(data []float32, mask []bool, lo, hi float64, bins int) float64 {
	if hi <= lo || bins < 2 {
		return lo
	}
	h := make([]float64, bins)
	w := float64(bins) / (hi - lo)
	for i, x := range data {
		if mask != nil && !mask[i] {
			continue
		}
		b := int((float64(x) - lo) * w)
		b = max(0, min(bins-1, b))
		h[b]++
	}
	var total, sum float64
	for b, c := range h {
		total += c
		sum += c * float64(b)
	}
	if total == 0 {
		return lo
	}
	var w0, s0, best float64
	bestB := 0
	for b := 0; b < bins-1; b++ {
		w0 += h[b]
		s0 += h[b] * float64(b)
		w1 := total - w0
		if w0 == 0 || w1 == 0 {
			continue
		}
		m0 := s0 / w0
		m1 := (sum - s0) / w1
		v := w0 * w1 * (m0 - m1) * (m0 - m1)
		if v > best {
			best, bestB = v, b
		}
	}
	return lo + float64(bestB+1)/w
}

// KMeans1D clusters the values of data where mask is true into k classes
// (Lloyd's algorithm on a 1024-bin histogram between the 0.5th and 99.5th
// percentiles, started at evenly spaced percentiles) and returns the class
// centres in increasing order.
func KMeans1D(data []float32, mask []bool, k int) ([]float64, error) {
	ps, err := Percentiles(data, mask, []float64{0.5, 99.5}, 300000)
	if err != nil {
		return nil, err
	}
	lo, hi := ps[0], ps[1]
	if !(hi > lo) {
		return nil, errors.New("no contrast to cluster")
	}
	const bins = 1024
	h := make([]float64, bins)
	w := float64(bins) / (hi - lo)
	for i, x := range data {
		if mask != nil && !mask[i] {
			continue
		}
		b := int((float64(x) - lo) * w)
		if b < 0 || b >= bins {
			continue
		}
		h[b]++
	}
	centre := func(b int) float64 { return lo + (float64(b)+0.5)/w }
	init := make([]float64, k)
	for c := range init {
		init[c] = float64(100*(c+1)) / float64(k+1)
	}
	cs, err := Percentiles(data, mask, init, 300000)
	if err != nil {
		return nil, err
	}
	for it := 0; it < 100; it++ {
		sum := make([]float64, k)
		cnt := make([]float64, k)
		for b, n := range h {
			if n == 0 {
				continue
			}
			x := centre(b)
			best := 0
			for c := 1; c < k; c++ {
				if math.Abs(x-cs[c]) < math.Abs(x-cs[best]) {
					best = c
				}
			}
			sum[best] += n * x
			cnt[best] += n
		}
		moved := 0.0
		for c := range cs {
			if cnt[c] > 0 {
				nc := sum[c] / cnt[c]
				moved = math.Max(moved, math.Abs(nc-cs[c]))
				cs[c] = nc
			}
		}
		if moved < 1e-6*(hi-lo) {
			break
		}
	}
	sort.Float64s(cs)
	return cs, nil
}
