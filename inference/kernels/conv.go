package kernels

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// CPU is the Backend on a Gemm. Its convolution needs no im2col buffer: with
// the input of one sample stored as a [cin][D*H*W] matrix, the output voxel
// (z, y, x) written at the input's flat index q = z*H*W + y*W + x, and the
// kernel tap (a, b, c) at flat offset o = a*H*W + b*W + c, the layer is
//
//	Y[:, q] = sum over the k^3 taps of W_tap [cout x cin] * X[:, q+o]
//
// and X[:, o : o+Q] is a contiguous column window of X. Each tap is one
// SGEMM on a window, BLIS packs the window itself, and the columns that fall
// on x >= W-k+1 or y >= H-k+1 (the row wrap) are computed and dropped. The
// columns are cut into chunks so that one chunk's output stays in cache
// while all taps accumulate into it, and chunks are spread over goroutines.
//
// Layers with few input channels (the first, on 4 sequences) would give
// SGEMMs with a tiny inner dimension; for them each chunk's k^2 windows of
// the (depth, height) taps are copied into one [cin*k^2 x chunk+k-1] panel
// (im2col of one chunk, without the width taps) and multiplied in one
// SGEMM by the weights as [cout*k x cin*k^2], the width tap c joining the
// output channel in the rows: row (o, c) at column q is filter o's tap-c
// partial sum for output q-c, and the epilogue adds the k rows of a filter
// at shifts 0..k-1. Against a [cin*k^3 x chunk] panel and [cout x cin*k^3]
// weights this copies k times less and gives BLIS k times as many rows
// (the first layer's 30 filters are one row panel of its kernel): 25 %
// more SGEMM throughput, with the same operations.
type CPU struct {
	gemm    Gemm
	threads int
	chunk   int
	// pointChunk is the chunk of 1x1x1 layers (the FC layers): their
	// 150-channel output chunks must stay in L2 cache.
	pointChunk int
	// packBelow: layers with cin*k^3 below it use the packed panel.
	packBelow int
	// winograd: 3x3x3 layers use F(2,3) along the width (winograd.go),
	// in chunks of wchunk output pairs.
	winograd bool
	wchunk   int
	// spares hold the largest Winograd input buffers between calls (see
	// scratch), one per concurrent caller (two folds of an ensemble at
	// once): allocating them afresh on every layer costs page faults and
	// garbage collection.
	mu     sync.Mutex
	spares [][]float32
}

// maxSpares is how many scratch buffers a CPU backend keeps.
const maxSpares = 2

// scratch returns a buffer of n elements, not cleared, reusing a spare one
// when it is large enough; release gives it back. Calls from several
// goroutines at once each get their own buffer.
func (c *CPU) scratch(n int) []float32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, b := range c.spares {
		if cap(b) >= n {
			c.spares = append(c.spares[:i], c.spares[i+1:]...)
			return b[:n]
		}
	}
	return make([]float32, n)
}

// release keeps b as a spare, dropping the smallest beyond maxSpares.
func (c *CPU) release(b []float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spares = append(c.spares, b)
	if len(c.spares) > maxSpares {
		small := 0
		for i, s := range c.spares {
			if cap(s) < cap(c.spares[small]) {
				small = i
			}
		}
		c.spares = append(c.spares[:small], c.spares[small+1:]...)
	}
}

// NewCPU returns the CPU backend on g with the given number of goroutines.
func NewCPU(g Gemm, threads int) *CPU {
	if threads < 1 {
		threads = 1
	}
	return &CPU{gemm: g, threads: threads, chunk: 2048, pointChunk: 512, packBelow: 128, winograd: true, wchunk: 1024}
}

// SameSettings reports whether c and o compute alike (same SGEMM, threads
// and paths), so that callers may use one for the other and share its
// scratch buffers.
func (c *CPU) SameSettings(o *CPU) bool {
	return c.gemm == o.gemm && c.threads == o.threads && c.chunk == o.chunk && c.pointChunk == o.pointChunk && c.packBelow == o.packBelow &&
		c.winograd == o.winograd && c.wchunk == o.wchunk
}

// Name implements Backend.
func (c *CPU) Name() string { return fmt.Sprintf("cpu/%s/%d threads", c.gemm.Name(), c.threads) }

// Gemm implements Backend.
func (c *CPU) Gemm() Gemm { return c.gemm }

// sgemmNN is c.gemm.Sgemm with alpha 1 and neither operand transposed,
// except that a single row (m = 1, the output layer's one filter) or column
// (n = 1) is computed as the first of two: BLIS hands those to
// matrix-vector kernels whose rounding depends on n and on where the
// columns start, and tiled prediction needs every output to come out the
// same wherever the tiles and the chunks of columns fall
// (TestConvChunksBitIdentical).
func (c *CPU) sgemmNN(m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
	if m == 1 {
		ta, tc := make([]float32, 2*k), make([]float32, 2*n)
		copy(ta, a[:k])
		if beta != 0 {
			copy(tc, cc[:n])
		}
		c.sgemmNN(2, n, k, ta, k, b, ldb, beta, tc, n)
		copy(cc[:n], tc)
		return
	}
	if n != 1 {
		c.gemm.Sgemm(false, false, m, n, k, 1, a, lda, b, ldb, beta, cc, ldc)
		return
	}
	tb, tc := make([]float32, 2*k), make([]float32, 2*m)
	for i := 0; i < k; i++ {
		tb[2*i] = b[i*ldb]
	}
	if beta != 0 {
		for i := 0; i < m; i++ {
			tc[2*i] = cc[i*ldc]
		}
	}
	c.gemm.Sgemm(false, false, m, 2, k, 1, a, lda, tb, 2, beta, tc, 2)
	for i := 0; i < m; i++ {
		cc[i*ldc] = tc[2*i]
	}
}

// parallelFor runs f(i) for i in [0, n) on up to threads goroutines; f gets
// the worker's index so it can use a per-worker buffer.
func parallelFor(n, threads int, f func(worker, i int)) {
	if threads > n {
		threads = n
	}
	if threads <= 1 {
		for i := 0; i < n; i++ {
			f(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(w, i)
			}
		}(w)
	}
	wg.Wait()
}

// taps returns the flat offsets of the k^3 kernel taps in an input of shape xs,
// in the weights' (a, b, c) order.
func taps(xs Shape5, k int) []int {
	o := make([]int, 0, k*k*k)
	hw := xs[3] * xs[4]
	for a := 0; a < k; a++ {
		for b := 0; b < k; b++ {
			for c := 0; c < k; c++ {
				o = append(o, a*hw+b*xs[4]+c)
			}
		}
	}
	return o
}

// widthTapRows reorders weights [cout][cin][a][b][c] into [o*k+c][(ci*k+a)*k+b]:
// the packed path's [cout*k x cin*k^2] matrix.
func widthTapRows(w []float32, cout, cin, k int) []float32 {
	r := make([]float32, len(w))
	for o := 0; o < cout; o++ {
		for ci := 0; ci < cin; ci++ {
			for ab := 0; ab < k*k; ab++ {
				for cc := 0; cc < k; cc++ {
					r[(o*k+cc)*cin*k*k+ci*k*k+ab] = w[((o*cin+ci)*k*k+ab)*k+cc]
				}
			}
		}
	}
	return r
}

// tapMajor reorders weights [cout][cin][t] into [t][cout][cin].
func tapMajor(w []float32, cout, cin, t int) []float32 {
	r := make([]float32, len(w))
	for o := 0; o < cout; o++ {
		for i := 0; i < cin; i++ {
			for j := 0; j < t; j++ {
				r[(j*cout+o)*cin+i] = w[(o*cin+i)*t+j]
			}
		}
	}
	return r
}

func checkConv(xs Shape5, cout, k int, lens map[string][2]int) {
	if err := xs.Validate(); err != nil || k < 1 || cout < 1 || xs[2] < k || xs[3] < k || xs[4] < k {
		panic(fmt.Sprintf("kernels: conv3d: input %v too small for kernel %d (or %d filters)", xs, k, cout))
	}
	for name, l := range lens {
		if l[0] != l[1] {
			panic(fmt.Sprintf("kernels: conv3d: %s has %d elements, want %d", name, l[0], l[1]))
		}
	}
}

// Conv3D implements Backend.
func (c *CPU) Conv3D(y []float32, x []float32, xs Shape5, w []float32, cout, k int, bias []float32) {
	c.conv3D(y, x, xs, w, cout, k, bias, nil, nil)
}

// Conv3DPReLU implements PReLUConv.
func (c *CPU) Conv3DPReLU(y []float32, x []float32, xs Shape5, w []float32, cout, k int, bias, alpha []float32) {
	if len(alpha) != cout {
		panic(fmt.Sprintf("kernels: conv3d: %d PReLU slopes, want %d", len(alpha), cout))
	}
	c.conv3D(y, x, xs, w, cout, k, bias, alpha, nil)
}

// Conv3DRows implements RowConv.
func (c *CPU) Conv3DRows(y []float32, x []float32, xs Shape5, w []float32, cout, k int, bias, alpha []float32, want []bool) {
	if alpha != nil && len(alpha) != cout {
		panic(fmt.Sprintf("kernels: conv3d: %d PReLU slopes, want %d", len(alpha), cout))
	}
	if ys := ConvOut(xs, cout, k); want != nil && len(want) != ys[2]*ys[3] {
		panic(fmt.Sprintf("kernels: conv3d: %d wanted rows for an output of %d x %d rows", len(want), ys[2], ys[3]))
	}
	c.conv3D(y, x, xs, w, cout, k, bias, alpha, want)
}

// rowSpans lists the column ranges [q0, q1) a convolution computes for the
// wanted output rows. Columns number the input's rows r = z*H + y (H the
// input's height; output rows have y < Ho) at perRow columns each, of
// which the last row of a range needs only lastLen; R rows in all. Rows
// with y >= Ho are no output row: a range may run through them (their
// columns are computed and dropped, as without want) but never starts or
// ends on them. want nil gives the one range of all columns.
func rowSpans(want []bool, R, H, Ho, perRow, lastLen int) [][2]int {
	if want == nil {
		return [][2]int{{0, (R-1)*perRow + lastLen}}
	}
	var spans [][2]int
	open, last := -1, -1 // first and last wanted row of the open range
	for r := 0; r < R; r++ {
		z, yy := r/H, r%H
		if yy >= Ho {
			continue
		}
		if !want[z*Ho+yy] {
			if open >= 0 {
				spans = append(spans, [2]int{open * perRow, last*perRow + lastLen})
				open = -1
			}
			continue
		}
		if open < 0 {
			open = r
		}
		last = r
	}
	if open >= 0 {
		spans = append(spans, [2]int{open * perRow, last*perRow + lastLen})
	}
	return spans
}

// chunkSpans cuts spans into pieces of at most chunk columns.
func chunkSpans(spans [][2]int, chunk int) [][2]int {
	var out [][2]int
	for _, s := range spans {
		for q := s[0]; q < s[1]; q += chunk {
			out = append(out, [2]int{q, min(q+chunk, s[1])})
		}
	}
	return out
}

// clearUnwanted zeroes the output rows want does not ask for.
func clearUnwanted(y []float32, ys Shape5, want []bool) {
	if want == nil {
		return
	}
	Ho, Wo := ys[3], ys[4]
	for nc := 0; nc < ys[0]*ys[1]; nc++ {
		base := nc * ys.Spatial()
		for r, ok := range want {
			if !ok {
				clear(y[base+r/Ho*Ho*Wo+r%Ho*Wo:][:Wo])
			}
		}
	}
}

// conv3D is Conv3D followed by PReLU with per-channel slopes alpha when
// alpha is not nil, applied as the outputs are written, on the output rows
// want asks for (nil: all; see RowConv).
func (c *CPU) conv3D(y []float32, x []float32, xs Shape5, w []float32, cout, k int, bias, alpha []float32, want []bool) {
	ys := ConvOut(xs, cout, k)
	cin, t := xs[1], k*k*k
	checkConv(xs, cout, k, map[string][2]int{"x": {len(x), xs.Len()}, "y": {len(y), ys.Len()}, "w": {len(w), cout * cin * t}})
	if bias != nil && len(bias) != cout {
		panic(fmt.Sprintf("kernels: conv3d: bias has %d elements, want %d", len(bias), cout))
	}
	if k == 3 && c.winograd && cin*t >= c.packBelow {
		c.conv3DWinograd(y, x, xs, w, cout, bias, alpha, want)
		return
	}
	clearUnwanted(y, ys, want)
	S, H, W := xs.Spatial(), xs[3], xs[4]
	Do, Ho, Wo := ys[2], ys[3], ys[4]
	// Input row r = z*H + y starts at column r*W; rows are W columns apart.
	// 1x1x1 layers are packed too although their window is contiguous:
	// a compact panel spares BLIS's own packing the input's long row
	// stride (FC layers 79 against 67 GFLOP/cpu-s, with the smaller chunk).
	chunk, packed := c.chunk, cin*t < c.packBelow
	if packed {
		// Half the chunk keeps the panel and the k-times-taller product
		// in L2 for the epilogue (layer 1: 98 -> 100, low.1 85 -> 95
		// GFLOP/cpu-s).
		chunk = max(c.chunk/2, 1)
	}
	if k == 1 {
		chunk, packed = c.pointChunk, true
	}
	chunks := chunkSpans(rowSpans(want, (Do-1)*H+Ho, H, Ho, W, Wo), chunk)
	nChunks := len(chunks)
	bufs := make([][]float32, c.threads)
	panels := make([][]float32, c.threads)
	// The packed path's product: rows (o, c), ld columns, depth cin*k^2.
	rowsM, ld, depth := cout, chunk, cin
	var wm, wr []float32
	var off []int
	if packed {
		rowsM, ld, depth = cout*k, chunk+k-1, cin*k*k
		wm = widthTapRows(w, cout, cin, k)
	} else {
		wr, off = tapMajor(w, cout, cin, t), taps(xs, k)
	}
	geom, fin := directGeom{H: H, W: W, Do: Do, Ho: Ho, Wo: Wo, cout: cout}, newFinish(bias, alpha)
	parallelFor(xs[0]*nChunks, c.threads, func(wk, job int) {
		n, ch := job/nChunks, job%nChunks
		q0, q1 := chunks[ch][0], chunks[ch][1]
		cols := q1 - q0
		if bufs[wk] == nil {
			bufs[wk] = make([]float32, rowsM*ld)
		}
		xn := x[n*cin*S : (n+1)*cin*S]
		widthTaps, pcols := 1, cols
		if packed {
			widthTaps, pcols = k, cols+k-1
		}
		tmp := bufs[wk][:rowsM*pcols]
		if packed {
			if panels[wk] == nil {
				panels[wk] = make([]float32, depth*ld)
			}
			p := panels[wk][:depth*pcols]
			for ci := 0; ci < cin; ci++ {
				for ab := 0; ab < k*k; ab++ {
					o := (ab/k)*H*W + (ab%k)*W
					copy(p[(ci*k*k+ab)*pcols:][:pcols], xn[ci*S+q0+o:][:pcols])
				}
			}
			c.sgemmNN(rowsM, pcols, depth, wm, depth, p, pcols, 0, tmp, pcols)
		} else {
			for j, o := range off {
				beta := float32(1)
				if j == 0 {
					beta = 0
				}
				c.sgemmNN(cout, cols, cin, wr[j*cout*cin:(j+1)*cout*cin], cin,
					xn[q0+o:], S, beta, tmp, cols)
			}
		}
		// Scatter the valid columns into y.
		scatterDirect(y[n*ys[1]*ys.Spatial():], ys.Spatial(), tmp, pcols, widthTaps, q0, q1, geom, fin)
	})
}

// padded writes dy of one sample into the flat index space of the input
// (zeros on the wrapped columns), shifted right by lead columns, so that every
// window the backward passes need is in range.
func padded(dst []float32, dyn []float32, xs, ys Shape5, lead int) {
	clear(dst)
	S, H, W := xs.Spatial(), xs[3], xs[4]
	Do, Ho, Wo := ys[2], ys[3], ys[4]
	stride := len(dst) / ys[1]
	_ = S
	for o := 0; o < ys[1]; o++ {
		for z := 0; z < Do; z++ {
			for yy := 0; yy < Ho; yy++ {
				copy(dst[o*stride+lead+z*H*W+yy*W:][:Wo], dyn[o*ys.Spatial()+(z*Ho+yy)*Wo:][:Wo])
			}
		}
	}
}

// Conv3DBackwardData implements Backend: dX[:, p] = sum over taps of
// W_tap^T * dY[:, p-o], a full convolution done as shifted windows of a
// zero-padded copy of dY.
func (c *CPU) Conv3DBackwardData(dx []float32, xs Shape5, dy []float32, w []float32, cout, k int) {
	ys := ConvOut(xs, cout, k)
	cin, t := xs[1], k*k*k
	checkConv(xs, cout, k, map[string][2]int{"dx": {len(dx), xs.Len()}, "dy": {len(dy), ys.Len()}, "w": {len(w), cout * cin * t}})
	if k == 3 && c.winograd && cout*t >= c.packBelow {
		c.backwardDataAsConv(dx, xs, dy, w, cout, k)
		return
	}
	wr := tapMajor(w, cout, cin, t)
	off := taps(xs, k)
	S := xs.Spatial()
	lead := off[len(off)-1]
	stride := S + lead
	pad := make([]float32, cout*stride)
	nChunks := (S + c.chunk - 1) / c.chunk
	for n := 0; n < xs[0]; n++ {
		padded(pad, dy[n*ys[1]*ys.Spatial():(n+1)*ys[1]*ys.Spatial()], xs, ys, lead)
		dxn := dx[n*cin*S : (n+1)*cin*S]
		parallelFor(nChunks, c.threads, func(_, ch int) {
			p0 := ch * c.chunk
			p1 := min(p0+c.chunk, S)
			for j, o := range off {
				beta := float32(1)
				if j == 0 {
					beta = 0
				}
				c.gemm.Sgemm(true, false, cin, p1-p0, cout, 1, wr[j*cout*cin:(j+1)*cout*cin], cin,
					pad[p0-o+lead:], stride, beta, dxn[p0:], S)
			}
		})
	}
}

// Conv3DBackwardFilter implements Backend: dW_tap = sum over samples of
// dY * X[:, o:o+Q]^T, one SGEMM per tap with the long dimension inside.
func (c *CPU) Conv3DBackwardFilter(dw, db []float32, x []float32, xs Shape5, dy []float32, cout, k int) {
	ys := ConvOut(xs, cout, k)
	cin, t := xs[1], k*k*k
	checkConv(xs, cout, k, map[string][2]int{"x": {len(x), xs.Len()}, "dy": {len(dy), ys.Len()}, "dw": {len(dw), cout * cin * t}})
	off := taps(xs, k)
	S, H, W := xs.Spatial(), xs[3], xs[4]
	Q := (ys[2]-1)*H*W + (ys[3]-1)*W + ys[4]
	pad := make([]float32, cout*S)
	dwr := make([]float32, len(dw))
	for n := 0; n < xs[0]; n++ {
		padded(pad, dy[n*ys[1]*ys.Spatial():(n+1)*ys[1]*ys.Spatial()], xs, ys, 0)
		xn := x[n*cin*S : (n+1)*cin*S]
		beta := float32(1)
		if n == 0 {
			beta = 0
		}
		parallelFor(t, c.threads, func(_, j int) {
			c.gemm.Sgemm(false, true, cout, cin, Q, 1, pad, S, xn[off[j]:], S, beta, dwr[j*cout*cin:(j+1)*cout*cin], cin)
		})
	}
	for o := 0; o < cout; o++ {
		for i := 0; i < cin; i++ {
			for j := 0; j < t; j++ {
				dw[(o*cin+i)*t+j] = dwr[(j*cout+o)*cin+i]
			}
		}
	}
	if db != nil {
		if len(db) != cout {
			panic(fmt.Sprintf("kernels: conv3d: bias gradient has %d elements, want %d", len(db), cout))
		}
		sp := ys.Spatial()
		for o := range db {
			var s float64
			for n := 0; n < ys[0]; n++ {
				for _, v := range dy[(n*cout+o)*sp : (n*cout+o+1)*sp] {
					s += float64(v)
				}
			}
			db[o] = float32(s)
		}
	}
}

// backwardDataAsConv computes the data gradient as the forward convolution
// (and so its fast paths) of dy padded by k-1 on every side with the
// weights transposed (cout <-> cin) and flipped in space.
func (c *CPU) backwardDataAsConv(dx []float32, xs Shape5, dy []float32, w []float32, cout, k int) {
	ys := ConvOut(xs, cout, k)
	cin, t := xs[1], k*k*k
	ps := Shape5{xs[0], cout, xs[2] + k - 1, xs[3] + k - 1, xs[4] + k - 1}
	pad := make([]float32, ps.Len())
	p := k - 1
	for nc := 0; nc < xs[0]*cout; nc++ {
		for z := 0; z < ys[2]; z++ {
			for y := 0; y < ys[3]; y++ {
				copy(pad[((nc*ps[2]+z+p)*ps[3]+y+p)*ps[4]+p:][:ys[4]], dy[((nc*ys[2]+z)*ys[3]+y)*ys[4]:][:ys[4]])
			}
		}
	}
	wf := make([]float32, len(w))
	for o := 0; o < cout; o++ {
		for i := 0; i < cin; i++ {
			for j := 0; j < t; j++ {
				wf[(i*cout+o)*t+t-1-j] = w[(o*cin+i)*t+j]
			}
		}
	}
	c.Conv3D(dx, pad, ps, wf, cin, k, nil)
}
