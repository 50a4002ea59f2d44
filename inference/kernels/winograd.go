package kernels

// Winograd F(2,3) along the width axis for 3x3x3 convolutions (forward).
//
// For each of the 9 (depth, height) taps the layer is a 1D convolution of
// 3 taps along x. Winograd's minimal filtering F(2,3) computes two
// neighbouring outputs of such a convolution from 4 products instead of 6:
// with d = x[2p .. 2p+3] and g the 3 taps,
//
//	u0 = d0-d2, u1 = d1+d2, u2 = d2-d1, u3 = d1-d3
//	G0 = g0, G1 = (g0+g1+g2)/2, G2 = (g0-g1+g2)/2, G3 = g2
//	y[2p] = m0+m1+m2, y[2p+1] = m1-m2-m3, m_i = G_i u_i.
//
// In matrix form each m_i is a [cout x cin] times [cin x pairs] SGEMM, and
// because the transforms are linear the 9 (depth, height) taps accumulate
// into the same four m_i before one output transform. The input is
// transformed once per sample (4 arrays of half its size), and the windows
// for a tap are, as in the direct path, contiguous column ranges: the
// (depth, height) tap only shifts whole rows. 36 SGEMMs on half the
// columns replace 27 on all of them: a third fewer operations.

// winogradInput fills u[i][ci][row][p] (i = 0..3) from one sample's input
// x[ci][row][0..W), rows = D*H, wp pairs per row; reads past the row are 0.
// Rows that need[row] (when need is not nil) says no output reads are set
// to 0 instead.
func winogradInput(u [4][]float32, x []float32, cin, rows, W, wp int, need []bool, threads int) {
	parallelFor(cin, threads, func(_, ci int) {
		var uc [4][]float32
		for i := range uc {
			uc[i] = u[i][ci*rows*wp : (ci+1)*rows*wp]
		}
		winogradInputChannel(uc, x[ci*rows*W:(ci+1)*rows*W], rows, W, wp, need)
	})
}

// winogradWeights returns g[i][ab][cout][cin] from w[cout][cin][3][3][3].
func winogradWeights(w []float32, cout, cin int) [4][]float32 {
	var g [4][]float32
	for i := range g {
		g[i] = make([]float32, 9*cout*cin)
	}
	for o := 0; o < cout; o++ {
		for ci := 0; ci < cin; ci++ {
			for ab := 0; ab < 9; ab++ {
				k := ((o*cin+ci)*9 + ab) * 3
				g0, g1, g2 := w[k], w[k+1], w[k+2]
				at := (ab*cout+o)*cin + ci
				g[0][at] = g0
				g[1][at] = (g0 + g1 + g2) / 2
				g[2][at] = (g0 - g1 + g2) / 2
				g[3][at] = g2
			}
		}
	}
	return g
}

// conv3DWinograd is Conv3D for k = 3 by F(2,3) along the width, on the
// output rows want asks for (nil: all). With alpha not nil, PReLU with
// those per-channel slopes follows.
func (c *CPU) conv3DWinograd(y []float32, x []float32, xs Shape5, w []float32, cout int, bias, alpha []float32, want []bool) {
	ys := ConvOut(xs, cout, 3)
	cin := xs[1]
	D, H, W := xs[2], xs[3], xs[4]
	Do, Ho, Wo := ys[2], ys[3], ys[4]
	wp := (Wo + 1) / 2
	rows := D * H
	R := (Do-1)*H + Ho // output rows in the input's row numbering
	g := winogradWeights(w, cout, cin)
	// winogradInput writes every element of u.
	ubuf := c.scratch(4 * cin * rows * wp)
	defer c.release(ubuf)
	var u [4][]float32
	for i := range u {
		u[i] = ubuf[i*cin*rows*wp : (i+1)*cin*rows*wp]
	}
	clearUnwanted(y, ys, want)
	// The input rows a wanted output row reads: itself and the next two
	// along y and z.
	var need []bool
	if want != nil {
		need = make([]bool, rows)
		for r, ok := range want {
			if !ok {
				continue
			}
			z, yy := r/Ho, r%Ho
			for a := 0; a < 3; a++ {
				for b := 0; b < 3; b++ {
					need[(z+a)*H+yy+b] = true
				}
			}
		}
	}
	chunk := max(c.wchunk, 1)
	chunks := chunkSpans(rowSpans(want, R, H, Ho, wp, wp), chunk)
	nChunks := len(chunks)
	type acc struct{ m [4][]float32 }
	bufs := make([]*acc, c.threads)
	ysp := ys.Spatial()
	geom, fin := winogradGeom{wp: wp, H: H, Do: Do, Ho: Ho, Wo: Wo, cout: cout}, newFinish(bias, alpha)
	for n := 0; n < xs[0]; n++ {
		winogradInput(u, x[n*cin*D*H*W:(n+1)*cin*D*H*W], cin, rows, W, wp, need, c.threads)
		yn := y[n*cout*ysp : (n+1)*cout*ysp]
		parallelFor(nChunks, c.threads, func(wk, ch int) {
			q0, q1 := chunks[ch][0], chunks[ch][1]
			cols := q1 - q0
			if bufs[wk] == nil {
				bufs[wk] = &acc{}
				for i := range bufs[wk].m {
					bufs[wk].m[i] = make([]float32, cout*chunk)
				}
			}
			m := bufs[wk].m
			for i := 0; i < 4; i++ {
				for ab := 0; ab < 9; ab++ {
					s := (ab/3)*H + ab%3 // row shift of tap (a, b)
					beta := float32(1)
					if ab == 0 {
						beta = 0
					}
					c.sgemmNN(cout, cols, cin, g[i][ab*cout*cin:(ab+1)*cout*cin], cin,
						u[i][q0+s*wp:], rows*wp, beta, m[i][:cout*cols], cols)
				}
			}
			// Output transform and scatter of the valid rows.
			scatterWinograd(yn, ysp, m, cols, q0, q1, geom, fin)
		})
	}
}
