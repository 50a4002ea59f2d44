package imgops

import "math"

// Shrink averages blocks of f[0] x f[1] x f[2] voxels (partial blocks at the
// far edges average what they hold). It returns the new dims; the caller
// adjusts the affine (see volume helpers in the calling packages).
func Shrink(data []float32, dims [3]int, f [3]int) ([]float32, [3]int) {
	var nd [3]int
	for a := 0; a < 3; a++ {
		f[a] = max(1, f[a])
		nd[a] = (dims[a] + f[a] - 1) / f[a]
	}
	out := make([]float32, nd[0]*nd[1]*nd[2])
	ParallelFor(nd[2], func(k0, k1 int) {
		for k := k0; k < k1; k++ {
			for j := 0; j < nd[1]; j++ {
				for i := 0; i < nd[0]; i++ {
					var s float32
					n := 0
					for kk := k * f[2]; kk < min((k+1)*f[2], dims[2]); kk++ {
						for jj := j * f[1]; jj < min((j+1)*f[1], dims[1]); jj++ {
							row := dims[0] * (jj + dims[1]*kk)
							for ii := i * f[0]; ii < min((i+1)*f[0], dims[0]); ii++ {
								s += data[row+ii]
								n++
							}
						}
					}
					out[i+nd[0]*(j+nd[1]*k)] = s / float32(n)
				}
			}
		}
	})
	return out, nd
}

// ShrinkMask marks a block true when at least half of its voxels are true.
func ShrinkMask(mask []bool, dims [3]int, f [3]int) ([]bool, [3]int) {
	fl := make([]float32, len(mask))
	for i, m := range mask {
		if m {
			fl[i] = 1
		}
	}
	s, nd := Shrink(fl, dims, f)
	out := make([]bool, len(s))
	for i, x := range s {
		out[i] = x >= 0.5
	}
	return out, nd
}

// GaussianKernel returns a normalised Gaussian of the given sigma (voxels),
// truncated at 3 sigma.
func GaussianKernel(sigma float64) []float32 {
	if sigma <= 0 {
		return []float32{1}
	}
	r := int(math.Ceil(3 * sigma))
	k := make([]float32, 2*r+1)
	var s float64
	for i := -r; i <= r; i++ {
		v := math.Exp(-float64(i*i) / (2 * sigma * sigma))
		k[i+r] = float32(v)
		s += v
	}
	for i := range k {
		k[i] /= float32(s)
	}
	return k
}

// Smooth convolves data with a separable Gaussian of sigma voxels per axis
// (0 skips an axis). Borders are handled by renormalising the truncated
// kernel, so a constant image stays constant.
func Smooth(data []float32, dims [3]int, sigma [3]float64) []float32 {
	out := append([]float32(nil), data...)
	for a := 0; a < 3; a++ {
		if sigma[a] < 0.3 || dims[a] < 2 {
			continue
		}
		out = convolveAxis(out, dims, a, GaussianKernel(sigma[a]))
	}
	return out
}

func convolveAxis(data []float32, dims [3]int, axis int, k []float32) []float32 {
	out := make([]float32, len(data))
	r := len(k) / 2
	n := dims[axis]
	stride := [3]int{1, dims[0], dims[0] * dims[1]}[axis]
	// Lines are indexed by the two other axes.
	o1, o2 := (axis+1)%3, (axis+2)%3
	s1 := [3]int{1, dims[0], dims[0] * dims[1]}[o1]
	s2 := [3]int{1, dims[0], dims[0] * dims[1]}[o2]
	lines := dims[o1] * dims[o2]
	ParallelFor(lines, func(l0, l1 int) {
		line := make([]float32, n)
		for l := l0; l < l1; l++ {
			base := (l%dims[o1])*s1 + (l/dims[o1])*s2
			for i := 0; i < n; i++ {
				line[i] = data[base+i*stride]
			}
			for i := 0; i < n; i++ {
				var s, w float32
				lo, hi := max(0, i-r), min(n-1, i+r)
				for t := lo; t <= hi; t++ {
					kv := k[t-i+r]
					s += kv * line[t]
					w += kv
				}
				out[base+i*stride] = s / w
			}
		}
	})
	return out
}
