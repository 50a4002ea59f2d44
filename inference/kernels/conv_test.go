package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveConv is the obviously correct reference: valid 3D convolution in float64.
func naiveConv(x []float32, xs Shape5, w []float32, cout, k int, bias []float32) []float64 {
	ys := ConvOut(xs, cout, k)
	y := make([]float64, ys.Len())
	cin := xs[1]
	for n := 0; n < xs[0]; n++ {
		for o := 0; o < cout; o++ {
			for z := 0; z < ys[2]; z++ {
				for yy := 0; yy < ys[3]; yy++ {
					for xx := 0; xx < ys[4]; xx++ {
						var s float64
						if bias != nil {
							s = float64(bias[o])
						}
						for i := 0; i < cin; i++ {
							for a := 0; a < k; a++ {
								for b := 0; b < k; b++ {
									for c := 0; c < k; c++ {
										xv := x[(((n*cin+i)*xs[2]+z+a)*xs[3]+yy+b)*xs[4]+xx+c]
										s += float64(w[(((o*cin+i)*k+a)*k+b)*k+c]) * float64(xv)
									}
								}
							}
						}
						y[(((n*cout+o)*ys[2]+z)*ys[3]+yy)*ys[4]+xx] = s
					}
				}
			}
		}
	}
	return y
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func backends() []Backend {
	b := []Backend{NewCPU(GonumGemm{}, 2), NewCPU(GonumGemm{}, 1)}
	if HaveBLIS {
		b = append(b, NewCPU(defaultGemm(), 2))
	}
	// A tiny chunk makes chunk borders fall inside rows and planes.
	small := NewCPU(defaultGemm(), 2)
	small.chunk, small.pointChunk = 7, 7
	// Every layer packed, and none.
	packAll, packNone := NewCPU(defaultGemm(), 2), NewCPU(defaultGemm(), 2)
	packAll.packBelow, packNone.packBelow = 1<<30, 0
	direct := NewCPU(defaultGemm(), 2)
	direct.winograd, direct.packBelow = false, 0
	// Winograd with tiny chunks: chunk borders inside rows.
	wsmall := NewCPU(defaultGemm(), 2)
	wsmall.packBelow, wsmall.wchunk = 0, 5
	return append(b, small, packAll, packNone, direct, wsmall)
}

func maxRelErr(got []float32, want []float64) float64 {
	var scale, e float64
	for i := range want {
		scale = math.Max(scale, math.Abs(want[i]))
		e = math.Max(e, math.Abs(float64(got[i])-want[i]))
	}
	return e / math.Max(scale, 1e-12)
}

func TestConv3DMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		xs      Shape5
		cout, k int
	}{
		{Shape5{2, 3, 6, 5, 7}, 4, 3},
		{Shape5{1, 2, 3, 3, 3}, 5, 3},
		{Shape5{3, 4, 4, 6, 5}, 2, 1},
		{Shape5{2, 6, 5, 4, 8}, 3, 3},  // even output width
		{Shape5{1, 5, 3, 5, 3}, 2, 3},  // output width 1
		{Shape5{1, 7, 4, 3, 13}, 4, 3}, // output width 11
		{Shape5{2, 8, 5, 5, 11}, 9, 3}, // output width 9
	} {
		cin := tc.xs[1]
		x := randSlice(r, tc.xs.Len())
		w := randSlice(r, tc.cout*cin*tc.k*tc.k*tc.k)
		bias := randSlice(r, tc.cout)
		want := naiveConv(x, tc.xs, w, tc.cout, tc.k, bias)
		for _, be := range backends() {
			y := make([]float32, len(want))
			for i := range y {
				y[i] = float32(math.NaN()) // every output must be written
			}
			be.Conv3D(y, x, tc.xs, w, tc.cout, tc.k, bias)
			if e := maxRelErr(y, want); !(e < 1e-5) {
				t.Errorf("%s %v: forward relative error %g", be.Name(), tc.xs, e)
			}
		}
	}
}

// The backward passes are checked against the adjoint of the naive forward:
// dx[i] = sum_j dy[j] dy_j/dx_i, computed by perturbing one input at a time
// through the linear map (exact, since the convolution is linear).
func TestConv3DBackwardMatchesAdjoint(t *testing.T) {
	checkAdjoint(t, Shape5{2, 3, 5, 4, 6}, 2, 3)
	// Six filters: the data gradient goes through the forward's fast paths.
	checkAdjoint(t, Shape5{1, 4, 5, 6, 5}, 6, 3)
}

func checkAdjoint(t *testing.T, xs Shape5, cout, k int) {
	r := rand.New(rand.NewPCG(3, 4))
	cin := xs[1]
	x := randSlice(r, xs.Len())
	w := randSlice(r, cout*cin*k*k*k)
	ys := ConvOut(xs, cout, k)
	dy := randSlice(r, ys.Len())
	dot := func(y []float64) float64 {
		var s float64
		for i := range y {
			s += y[i] * float64(dy[i])
		}
		return s
	}
	wantDx := make([]float64, len(x))
	e := make([]float32, len(x))
	for i := range x {
		e[i] = 1
		wantDx[i] = dot(naiveConv(e, xs, w, cout, k, nil))
		e[i] = 0
	}
	wantDw := make([]float64, len(w))
	ew := make([]float32, len(w))
	for i := range w {
		ew[i] = 1
		wantDw[i] = dot(naiveConv(x, xs, ew, cout, k, nil))
		ew[i] = 0
	}
	wantDb := make([]float64, cout)
	for n := 0; n < ys[0]; n++ {
		for o := 0; o < cout; o++ {
			for _, v := range dy[(n*cout+o)*ys.Spatial() : (n*cout+o+1)*ys.Spatial()] {
				wantDb[o] += float64(v)
			}
		}
	}
	for _, be := range backends() {
		dx := make([]float32, len(x))
		be.Conv3DBackwardData(dx, xs, dy, w, cout, k)
		if e := maxRelErr(dx, wantDx); !(e < 1e-5) {
			t.Errorf("%s: backward data relative error %g", be.Name(), e)
		}
		dw := make([]float32, len(w))
		db := make([]float32, cout)
		be.Conv3DBackwardFilter(dw, db, x, xs, dy, cout, k)
		if e := maxRelErr(dw, wantDw); !(e < 1e-5) {
			t.Errorf("%s: backward filter relative error %g", be.Name(), e)
		}
		if e := maxRelErr(db, wantDb); !(e < 1e-5) {
			t.Errorf("%s: bias gradient relative error %g", be.Name(), e)
		}
	}
}

func TestSgemmBackendsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m, n, k := 37, 29, 41
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	want := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			for l := 0; l < k; l++ {
				// a is k x m (transposed), b is n x k (transposed).
				want[i*n+j] += float64(a[l*m+i]) * float64(b[j*k+l])
			}
		}
	}
	for _, g := range []Gemm{GonumGemm{}, defaultGemm()} {
		c := make([]float32, m*n)
		g.Sgemm(true, true, m, n, k, 1, a, m, b, k, 0, c, n)
		if e := maxRelErr(c, want); !(e < 1e-5) {
			t.Errorf("%s: sgemm relative error %g", g.Name(), e)
		}
	}
}

func TestSgemmRefusesShortSlices(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic on a short C")
		}
	}()
	checkGemm(false, false, 4, 4, 4, make([]float32, 16), 4, make([]float32, 16), 4, make([]float32, 15), 4)
}

// TestConvChunksBitIdentical: where the chunks of columns fall must not
// change a single bit of the forward convolution (tiled prediction relies
// on it), including chunks of one column, which BLIS computes as a
// matrix-vector product with other rounding.
func TestConvChunksBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct {
		xs      Shape5
		cout, k int
	}{
		{Shape5{1, 6, 5, 7, 9}, 5, 3}, // Winograd
		{Shape5{1, 3, 4, 5, 6}, 4, 3}, // packed panel
		{Shape5{1, 7, 3, 4, 5}, 6, 1}, // 1x1x1
		{Shape5{1, 7, 3, 4, 5}, 1, 1}, // the output layer: one filter
		{Shape5{1, 9, 3, 5, 7}, 1, 3}, // one filter, Winograd
	} {
		x := randSlice(r, tc.xs.Len())
		w := randSlice(r, tc.cout*tc.xs[1]*tc.k*tc.k*tc.k)
		bias := randSlice(r, tc.cout)
		want := make([]float32, ConvOut(tc.xs, tc.cout, tc.k).Len())
		NewCPU(defaultGemm(), 1).Conv3D(want, x, tc.xs, w, tc.cout, tc.k, bias)
		for _, chunk := range []int{1, 2, 3, 5, 7, 11, 13, 29} {
			be := NewCPU(defaultGemm(), 2)
			be.chunk, be.wchunk, be.pointChunk = chunk, chunk, chunk
			got := make([]float32, len(want))
			be.Conv3D(got, x, tc.xs, w, tc.cout, tc.k, bias)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%v k=%d chunk %d: output %d is %g, with one chunk %g", tc.xs, tc.k, chunk, i, got[i], want[i])
				}
			}
		}
	}
}

// TestConv3DPReLUFused: the fused activation equals Conv3D followed by
// PReLU bit for bit, on the Winograd, packed-panel and 1x1x1 paths, with
// and without bias.
func TestConv3DPReLUFused(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, g := range gemms() {
		for _, tc := range []struct {
			xs      Shape5
			cout, k int
		}{
			{Shape5{2, 6, 5, 7, 9}, 5, 3},
			{Shape5{1, 3, 4, 5, 6}, 4, 3},
			{Shape5{1, 7, 3, 4, 5}, 6, 1},
			{Shape5{1, 7, 3, 4, 5}, 1, 1},
		} {
			x := randSlice(r, tc.xs.Len())
			w := randSlice(r, tc.cout*tc.xs[1]*tc.k*tc.k*tc.k)
			alpha := randSlice(r, tc.cout)
			for _, bias := range [][]float32{randSlice(r, tc.cout), nil} {
				be := NewCPU(g, 2)
				ys := ConvOut(tc.xs, tc.cout, tc.k)
				want := make([]float32, ys.Len())
				be.Conv3D(want, x, tc.xs, w, tc.cout, tc.k, bias)
				negatives := 0
				for i, v := range want {
					if math.Signbit(float64(v)) {
						want[i] = v * alpha[(i/ys.Spatial())%tc.cout]
						negatives++
					}
				}
				if negatives == 0 || negatives == len(want) {
					t.Fatalf("%v: %d of %d outputs negative", tc.xs, negatives, len(want))
				}
				got := make([]float32, len(want))
				be.Conv3DPReLU(got, x, tc.xs, w, tc.cout, tc.k, bias, alpha)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s %v k=%d bias %v: output %d is %g, want %g", g.Name(), tc.xs, tc.k, bias != nil, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestConv3DRowsMatchesFull: computing only some output rows gives those
// rows bit for bit as the full convolution does and zero elsewhere, on every
// path (Winograd, packed panel, direct, 1x1x1, tiny chunks), with and
// without the fused PReLU, for no rows, all rows, and scattered rows.
func TestConv3DRowsMatchesFull(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	for _, tc := range []struct {
		xs      Shape5
		cout, k int
	}{
		{Shape5{2, 6, 7, 8, 9}, 5, 3},
		{Shape5{1, 3, 6, 7, 6}, 4, 3},
		{Shape5{2, 7, 3, 4, 5}, 6, 1},
	} {
		x := randSlice(r, tc.xs.Len())
		w := randSlice(r, tc.cout*tc.xs[1]*tc.k*tc.k*tc.k)
		bias, alpha := randSlice(r, tc.cout), randSlice(r, tc.cout)
		ys := ConvOut(tc.xs, tc.cout, tc.k)
		rows := ys[2] * ys[3]
		wants := [][]bool{make([]bool, rows), nil}
		all := make([]bool, rows)
		for i := range all {
			all[i] = true
		}
		wants = append(wants, all)
		for range 3 {
			sc := make([]bool, rows)
			for i := range sc {
				sc[i] = r.IntN(3) == 0
			}
			wants = append(wants, sc)
		}
		for _, be := range backends() {
			cpu := be.(*CPU)
			for _, a := range [][]float32{alpha, nil} {
				full := make([]float32, ys.Len())
				if a != nil {
					cpu.Conv3DPReLU(full, x, tc.xs, w, tc.cout, tc.k, bias, a)
				} else {
					cpu.Conv3D(full, x, tc.xs, w, tc.cout, tc.k, bias)
				}
				for wi, want := range wants {
					got := make([]float32, ys.Len())
					for i := range got {
						got[i] = float32(math.NaN()) // a reused buffer
					}
					cpu.Conv3DRows(got, x, tc.xs, w, tc.cout, tc.k, bias, a, want)
					for i, v := range got {
						row := (i / ys[4]) % rows
						exp := full[i]
						if want != nil && !want[row] {
							exp = 0
						}
						if v != exp {
							t.Fatalf("%s %v k=%d prelu %v want #%d: output %d (row %d) is %g, want %g",
								be.Name(), tc.xs, tc.k, a != nil, wi, i, row, v, exp)
						}
					}
				}
			}
		}
	}
}
