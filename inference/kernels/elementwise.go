package kernels

import "math"

// The element-wise loops of the convolutions: the Winograd input transform
// and the epilogue (adding the bias, applying the PReLU and writing the
// accumulated chunk of columns into the output's layout). In Go's scalar
// code they took a quarter of the first layer's time and about a sixth of
// the network's; with cgo the same loops run as vectorised C
// (elementwise_cgo.go), giving the same bits: the same float32 additions
// and subtractions in the same order, and one multiplication by a factor
// chosen by the sign bit. The Go versions here are the reference and the
// pure-Go build's code.

// finish says how outputs are finished: bias (nil: none) and the PReLU
// factors of each channel, f0 for a clear sign bit and f1 for a set one
// (preluFactors; nil: no PReLU).
type finish struct {
	bias, f0, f1 []float32
}

func newFinish(bias, alpha []float32) finish {
	fin := finish{bias: bias}
	if alpha != nil {
		fin.f0, fin.f1 = make([]float32, len(alpha)), make([]float32, len(alpha))
		for o, s := range alpha {
			f := preluFactors(s)
			fin.f0[o], fin.f1[o] = f[0], f[1]
		}
	}
	return fin
}

// preluFactors returns the factors PReLU with slope s multiplies by, f[0]
// for a clear sign bit and f[1] for a set one: v * f[sign bit of v] is
// branch-free (the sign of activations is unpredictable) and about twice as
// fast as computing the factor from the bit. The factors are nn.PReLU's own
// expression, (1-neg) + neg*s for neg = 0 and 1, computed the same way, so
// fused and separate layers agree bit for bit whatever s is.
func preluFactors(s float32) [2]float32 {
	var zero, one float32 = 0, 1
	return [2]float32{(1 - zero) + zero*s, (1 - one) + one*s}
}

// directGeom is where the columns of the direct convolution go: column q
// is input voxel q of a D x H x W sample, output voxel (z, y, x) of a
// Do x Ho x Wo output when it lies inside.
type directGeom struct{ H, W, Do, Ho, Wo, cout int }

// scatterDirectGo writes columns [q0, q1) into one sample's output yn
// (channels ysp apart), finished by fin. The value of filter o at column q
// is the sum over c < taps of tmp's row o*taps+c at column q-q0+c (rows ld
// apart): taps is 1 for a plain product, k for the packed path's width
// taps (see CPU).
func scatterDirectGo(yn []float32, ysp int, tmp []float32, ld, taps, q0, q1 int, g directGeom, fin finish) {
	H, W, Do, Ho, Wo := g.H, g.W, g.Do, g.Ho, g.Wo
	for q := q0; q < q1; {
		z, r := q/(H*W), q%(H*W)
		yy, xx := r/W, r%W
		run := min(W-xx, q1-q) // stay within one input row
		if z < Do && yy < Ho && xx < Wo {
			nv := min(run, Wo-xx)
			for o := 0; o < g.cout; o++ {
				dst := yn[o*ysp+(z*Ho+yy)*Wo+xx:][:nv]
				row := func(c int) []float32 { return tmp[(o*taps+c)*ld+q-q0+c:][:nv] }
				src := row(0)
				if taps > 1 {
					sum := make([]float32, nv)
					copy(sum, src)
					for c := 1; c < taps; c++ {
						for i, v := range row(c) {
							sum[i] += v
						}
					}
					src = sum
				}
				var b float32
				if fin.bias != nil {
					b = fin.bias[o]
				}
				switch {
				case fin.f0 != nil:
					f := [2]float32{fin.f0[o], fin.f1[o]}
					for i, v := range src {
						v += b
						dst[i] = v * f[math.Float32bits(v)>>31]
					}
				case fin.bias != nil:
					for i, v := range src {
						dst[i] = v + b
					}
				default:
					copy(dst, src)
				}
			}
		}
		q += run
	}
}

// winogradGeom is where the columns of the Winograd convolution go: column
// q is pair p = q % wp of input row r = q / wp = z*H + y, outputs 2p and
// 2p+1 of output row (z, y) when it lies inside the Do x Ho x Wo output.
type winogradGeom struct{ wp, H, Do, Ho, Wo, cout int }

// scatterWinogradGo applies the F(2,3) output transform to columns
// [q0, q1) of m0..m3 (cout rows of cols each) and writes the results into
// one sample's output yn (channels ysp apart), finished by fin.
func scatterWinogradGo(yn []float32, ysp int, m [4][]float32, cols, q0, q1 int, g winogradGeom, fin finish) {
	wp, H, Do, Ho, Wo := g.wp, g.H, g.Do, g.Ho, g.Wo
	for q := q0; q < q1; {
		r, p := q/wp, q%wp
		run := min(wp-p, q1-q)
		z, yy := r/H, r%H
		if z < Do && yy < Ho {
			for o := 0; o < g.cout; o++ {
				var b float32
				if fin.bias != nil {
					b = fin.bias[o]
				}
				f := [2]float32{1, 1}
				if fin.f0 != nil {
					f = [2]float32{fin.f0[o], fin.f1[o]}
				}
				dst := yn[o*ysp+(z*Ho+yy)*Wo:][:Wo]
				base := o*cols + q - q0
				m0, m1, m2, m3 := m[0][base:base+run], m[1][base:base+run], m[2][base:base+run], m[3][base:base+run]
				for t := range m0 {
					x0 := 2 * (p + t)
					v0 := m0[t] + m1[t] + m2[t] + b
					v1 := m1[t] - m2[t] - m3[t] + b
					if fin.f0 != nil {
						v0 *= f[math.Float32bits(v0)>>31]
						v1 *= f[math.Float32bits(v1)>>31]
					}
					dst[x0] = v0
					if x0+1 < Wo {
						dst[x0+1] = v1
					}
				}
			}
		}
		q += run
	}
}

// winogradInputChannelGo is the F(2,3) input transform of one channel:
// u[i][row][p] from x[row][0..W), rows rows of W inputs, wp pairs per row;
// reads past the row are 0; rows need (when not nil) says no output reads
// are set to 0.
func winogradInputChannelGo(u [4][]float32, x []float32, rows, W, wp int, need []bool) {
	for r := 0; r < rows; r++ {
		row := x[r*W:][:W]
		base := r * wp
		u0, u1, u2, u3 := u[0][base:base+wp], u[1][base:base+wp], u[2][base:base+wp], u[3][base:base+wp]
		if need != nil && !need[r] {
			clear(u0)
			clear(u1)
			clear(u2)
			clear(u3)
			continue
		}
		// Whole quadruples first (no bounds logic in the hot loop), then
		// the last pairs, which may reach past the row.
		full := max(0, min(wp, (W-2)/2))
		for p := 0; p < full; p++ {
			d := row[2*p : 2*p+4 : 2*p+4]
			u0[p] = d[0] - d[2]
			u1[p] = d[1] + d[2]
			u2[p] = d[2] - d[1]
			u3[p] = d[1] - d[3]
		}
		for p := full; p < wp; p++ {
			var d [4]float32
			for t := 0; t < 4 && 2*p+t < W; t++ {
				d[t] = row[2*p+t]
			}
			u0[p] = d[0] - d[2]
			u1[p] = d[1] + d[2]
			u2[p] = d[2] - d[1]
			u3[p] = d[1] - d[3]
		}
	}
}
