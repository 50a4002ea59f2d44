package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// specialSlice is random values with signed zeros, infinities, NaNs and
// subnormals mixed in: the epilogue's sign-bit select must treat them as
// the Go code does.
func specialSlice(r *rand.Rand, n int) []float32 {
	s := randSlice(r, n)
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), -float32(math.NaN()), 1e-40, -1e-40}
	for i := range s {
		if r.IntN(8) == 0 {
			s[i] = specials[r.IntN(len(specials))]
		}
	}
	return s
}

// sameBits returns the first index where a and b differ in their bits, or
// -1. Any two NaNs count as the same: which operand's NaN an addition
// passes on depends on the instruction's operand order, which neither
// compiler promises.
func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			return i
		}
	}
	return -1
}

// TestEpilogueMatchesGo: the epilogue of this build (C with cgo) writes the
// same bits as the Go loops, and nothing outside the output, for random
// output shapes, column ranges, special values, with and without bias and
// PReLU.
func TestEpilogueMatchesGo(t *testing.T) {
	if !haveCEpilogue {
		t.Log("pure-Go build: the epilogue is the Go code")
	}
	r := rand.New(rand.NewPCG(13, 13))
	for iter := 0; iter < 300; iter++ {
		cout := 1 + r.IntN(5)
		Do, Ho, Wo := 1+r.IntN(4), 1+r.IntN(5), 1+r.IntN(9)
		ysp := Do * Ho * Wo
		k := 1 + 2*r.IntN(2) // 1 or 3
		H, W := Ho+k-1, Wo+k-1
		alpha := specialSlice(r, cout)
		alpha[0] = float32(math.Copysign(0, -1))
		fins := []finish{newFinish(nil, nil), newFinish(randSlice(r, cout), nil),
			newFinish(nil, alpha), newFinish(specialSlice(r, cout), alpha)}
		canary := func() []float32 {
			y := make([]float32, cout*ysp+7)
			for i := range y {
				y[i] = 12345
			}
			return y
		}
		// Direct: columns over the input's flat index.
		Q := (Do-1)*H*W + (Ho-1)*W + Wo
		q0 := r.IntN(Q)
		q1 := q0 + 1 + r.IntN(Q-q0)
		g := directGeom{H: H, W: W, Do: Do, Ho: Ho, Wo: Wo, cout: cout}
		for _, taps := range []int{1, 2, 3} {
			ld := q1 - q0 + taps - 1 + r.IntN(3)
			tmp := specialSlice(r, cout*taps*ld)
			for fi, fin := range fins {
				want, got := canary(), canary()
				scatterDirectGo(want, ysp, tmp, ld, taps, q0, q1, g, fin)
				scatterDirect(got, ysp, tmp, ld, taps, q0, q1, g, fin)
				if i := sameBits(want, got); i >= 0 {
					t.Fatalf("direct %+v taps %d q [%d,%d) finish %d: element %d is %g, Go gives %g", g, taps, q0, q1, fi, i, got[i], want[i])
				}
			}
		}
		// Winograd: columns are pairs of the input's rows.
		wp := (Wo + 1) / 2
		R := (Do-1)*(Ho+2) + Ho
		wg := winogradGeom{wp: wp, H: Ho + 2, Do: Do, Ho: Ho, Wo: Wo, cout: cout}
		q0 = r.IntN(R * wp)
		q1 = q0 + 1 + r.IntN(R*wp-q0)
		cols := q1 - q0 + r.IntN(3)
		var m [4][]float32
		for i := range m {
			m[i] = specialSlice(r, cout*cols)
		}
		for fi, fin := range fins {
			want, got := canary(), canary()
			scatterWinogradGo(want, ysp, m, cols, q0, q1, wg, fin)
			scatterWinograd(got, ysp, m, cols, q0, q1, wg, fin)
			if i := sameBits(want, got); i >= 0 {
				t.Fatalf("winograd %+v q [%d,%d) finish %d: element %d is %g, Go gives %g", wg, q0, q1, fi, i, got[i], want[i])
			}
		}
	}
}

// TestWinogradInputMatchesGo: this build's Winograd input transform writes
// the same bits as the Go loops and stays inside its output, for rows of
// every width, odd and even, with and without a row selection.
func TestWinogradInputMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 14))
	for iter := 0; iter < 200; iter++ {
		rows, W := 1+r.IntN(6), 3+r.IntN(12)
		wp := (W - 2 + 1) / 2
		x := specialSlice(r, rows*W)
		var need []bool
		if iter%2 == 1 {
			need = make([]bool, rows)
			for i := range need {
				need[i] = r.IntN(3) > 0
			}
		}
		alloc := func() ([4][]float32, []float32) {
			buf := make([]float32, 4*rows*wp+5)
			for i := range buf {
				buf[i] = 777
			}
			var u [4][]float32
			for i := range u {
				u[i] = buf[i*rows*wp : (i+1)*rows*wp : (i+1)*rows*wp]
			}
			return u, buf
		}
		uw, want := alloc()
		ug, got := alloc()
		winogradInputChannelGo(uw, x, rows, W, wp, need)
		winogradInputChannel(ug, x, rows, W, wp, need)
		if i := sameBits(want, got); i >= 0 {
			t.Fatalf("rows %d W %d need %v: element %d is %g, Go gives %g", rows, W, need, i, got[i], want[i])
		}
	}
}
