package bias

import "metascope/preprocess/internal/imgops"

// lattice is a uniform cubic B-spline control lattice over a regular grid of
// data points: spans[a] spans per axis, spans[a]+3 control points per axis.
// Grid coordinates u in [-0.5, n-0.5] (the whole extent of the voxels)
// map linearly onto [0, spans].
type lattice struct {
	spans [3]int
	c     []float64 // (spans[0]+3) x (spans[1]+3) x (spans[2]+3), x fastest
}

func newLattice(spans [3]int) *lattice {
	return &lattice{spans: spans, c: make([]float64, (spans[0]+3)*(spans[1]+3)*(spans[2]+3))}
}

func (l *lattice) cdims() [3]int { return [3]int{l.spans[0] + 3, l.spans[1] + 3, l.spans[2] + 3} }

// add adds o's controls to l (same spans).
func (l *lattice) add(o *lattice) {
	for i := range l.c {
		l.c[i] += o.c[i]
	}
}

// basis holds, for each coordinate of one axis, its first control index and
// the four cubic B-spline weights.
type basis struct {
	first []int
	w     [][4]float64
}

// axisBasis computes the basis of n samples along an axis of the data grid
// whose sample i sits at grid coordinate (i*scale + offset) in a grid of
// gridN points; spans spans cover [-0.5, gridN-0.5].
func axisBasis(n int, scale, offset float64, gridN, spans int) basis {
	b := basis{first: make([]int, n), w: make([][4]float64, n)}
	for i := 0; i < n; i++ {
		u := float64(i)*scale + offset
		t := (u + 0.5) / float64(gridN) * float64(spans)
		s := int(t)
		if t < 0 {
			s = 0
		}
		if s > spans-1 {
			s = spans - 1
		}
		r := t - float64(s)
		b.first[i] = s
		b.w[i] = cubicWeights(r)
	}
	return b
}

// cubicWeights are the uniform cubic B-spline weights at local position r.
func cubicWeights(r float64) [4]float64 {
	r2, r3 := r*r, r*r*r
	return [4]float64{
		(1 - 3*r + 3*r2 - r3) / 6,
		(4 - 6*r2 + 3*r3) / 6,
		(1 + 3*r + 3*r2 - 3*r3) / 6,
		r3 / 6,
	}
}

// evaluate samples the spline on a data grid of dims with per-axis bases,
// contracting one axis at a time (cost linear in the output size).
func (l *lattice) evaluate(dims [3]int, bx, by, bz basis) []float64 {
	cd := l.cdims()
	// Contract z: (cx, cy, cz) -> (cx, cy, nz).
	t1 := make([]float64, cd[0]*cd[1]*dims[2])
	for k := 0; k < dims[2]; k++ {
		f, w := bz.first[k], bz.w[k]
		for q := 0; q < 4; q++ {
			src := l.c[cd[0]*cd[1]*(f+q):]
			dst := t1[cd[0]*cd[1]*k:]
			for p := 0; p < cd[0]*cd[1]; p++ {
				dst[p] += w[q] * src[p]
			}
		}
	}
	// Contract y: (cx, cy, nz) -> (cx, ny, nz).
	t2 := make([]float64, cd[0]*dims[1]*dims[2])
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			f, w := by.first[j], by.w[j]
			dst := t2[cd[0]*(j+dims[1]*k):]
			for q := 0; q < 4; q++ {
				src := t1[cd[0]*((f+q)+cd[1]*k):]
				for p := 0; p < cd[0]; p++ {
					dst[p] += w[q] * src[p]
				}
			}
		}
	}
	// Contract x: (cx, ny, nz) -> (nx, ny, nz), in parallel over slices.
	out := make([]float64, dims[0]*dims[1]*dims[2])
	imgops.ParallelFor(dims[2], func(k0, k1 int) {
		for k := k0; k < k1; k++ {
			for j := 0; j < dims[1]; j++ {
				src := t2[cd[0]*(j+dims[1]*k):]
				dst := out[dims[0]*(j+dims[1]*k):]
				for i := 0; i < dims[0]; i++ {
					f, w := bx.first[i], bx.w[i]
					dst[i] = w[0]*src[f] + w[1]*src[f+1] + w[2]*src[f+2] + w[3]*src[f+3]
				}
			}
		}
	})
	return out
}

// fit approximates the values r at the masked points of a data grid by Lee,
// Wolberg and Shin's B-spline approximation (the scheme ITK's N4 uses): each
// point proposes control values that would interpolate it, and each control
// takes the w^2-weighted mean of the proposals. Because the tensor-product
// weights factor per axis, both sums are accumulated one axis at a time.
func fit(spans [3]int, dims [3]int, r []float64, mask []bool, bx, by, bz basis) *lattice {
	l := newLattice(spans)
	cd := l.cdims()
	n := dims[0] * dims[1] * dims[2]
	// Per point: sum over its 64 controls of w^2 factors as a product of
	// per-axis sums of squared weights.
	sq := func(w [4]float64) float64 { return w[0]*w[0] + w[1]*w[1] + w[2]*w[2] + w[3]*w[3] }
	num := make([]float64, n)
	den := make([]float64, n)
	for k := 0; k < dims[2]; k++ {
		sz := sq(bz.w[k])
		for j := 0; j < dims[1]; j++ {
			syz := sz * sq(by.w[j])
			for i := 0; i < dims[0]; i++ {
				idx := i + dims[0]*(j+dims[1]*k)
				if !mask[idx] {
					continue
				}
				s := syz * sq(bx.w[i])
				// phi_k = w_k r / s; numerator term w_k^2 phi_k = w_k^3 r / s.
				num[idx] = r[idx] / s
				den[idx] = 1
			}
		}
	}
	numC := scatter(num, dims, cd, bx, by, bz, 3)
	denC := scatter(den, dims, cd, bx, by, bz, 2)
	for i := range l.c {
		if denC[i] > 1e-12 {
			l.c[i] = numC[i] / denC[i]
		}
	}
	return l
}

// scatter accumulates sum_p v_p * prod_a w_a^pow onto the control lattice,
// contracting x, then y, then z.
func scatter(v []float64, dims, cd [3]int, bx, by, bz basis, pow int) []float64 {
	pw := func(w [4]float64) [4]float64 {
		var o [4]float64
		for q := range w {
			o[q] = w[q] * w[q]
			if pow == 3 {
				o[q] *= w[q]
			}
		}
		return o
	}
	// x: (nx, ny, nz) -> (cx, ny, nz)
	t1 := make([]float64, cd[0]*dims[1]*dims[2])
	for row := 0; row < dims[1]*dims[2]; row++ {
		src := v[dims[0]*row:]
		dst := t1[cd[0]*row:]
		for i := 0; i < dims[0]; i++ {
			if src[i] == 0 {
				continue
			}
			f, w := bx.first[i], pw(bx.w[i])
			for q := 0; q < 4; q++ {
				dst[f+q] += w[q] * src[i]
			}
		}
	}
	// y: (cx, ny, nz) -> (cx, cy, nz)
	t2 := make([]float64, cd[0]*cd[1]*dims[2])
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			f, w := by.first[j], pw(by.w[j])
			src := t1[cd[0]*(j+dims[1]*k):]
			for q := 0; q < 4; q++ {
				dst := t2[cd[0]*((f+q)+cd[1]*k):]
				for p := 0; p < cd[0]; p++ {
					dst[p] += w[q] * src[p]
				}
			}
		}
	}
	// z: (cx, cy, nz) -> (cx, cy, cz)
	out := make([]float64, cd[0]*cd[1]*cd[2])
	for k := 0; k < dims[2]; k++ {
		f, w := bz.first[k], pw(bz.w[k])
		src := t2[cd[0]*cd[1]*k:]
		for q := 0; q < 4; q++ {
			dst := out[cd[0]*cd[1]*(f+q):]
			for p := 0; p < cd[0]*cd[1]; p++ {
				dst[p] += w[q] * src[p]
			}
		}
	}
	return out
}
