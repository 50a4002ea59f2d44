package imgops

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDistanceSqMatchesBruteForce compares the separable transform with an
// obviously correct search over all feature voxels, anisotropic spacing.
func TestDistanceSqMatchesBruteForce(t *testing.T) {
	dims := [3]int{13, 9, 7}
	sp := [3]float64{1, 1.5, 3}
	rng := rand.New(rand.NewPCG(1, 2))
	f := make([]bool, dims[0]*dims[1]*dims[2])
	for i := range f {
		f[i] = rng.Float64() < 0.03
	}
	d := DistanceSq(f, dims, sp)
	for idx := range f {
		i, j, k := idx%dims[0], (idx/dims[0])%dims[1], idx/(dims[0]*dims[1])
		best := inf
		for q := range f {
			if !f[q] {
				continue
			}
			a, b, c := q%dims[0], (q/dims[0])%dims[1], q/(dims[0]*dims[1])
			dx, dy, dz := float64(a-i)*sp[0], float64(b-j)*sp[1], float64(c-k)*sp[2]
			best = math.Min(best, dx*dx+dy*dy+dz*dz)
		}
		if math.Abs(best-float64(d[idx])) > 1e-5*(1+best) {
			t.Fatalf("voxel %d: distance^2 %g, brute force %g", idx, d[idx], best)
		}
	}
}

func TestMorphologyOnSphere(t *testing.T) {
	dims := [3]int{41, 41, 41}
	sp := [3]float64{1, 1, 1}
	ball := func(r float64) []bool {
		m := make([]bool, dims[0]*dims[1]*dims[2])
		for idx := range m {
			i, j, k := idx%41-20, (idx/41)%41-20, idx/(41*41)-20
			m[idx] = float64(i*i+j*j+k*k) <= r*r
		}
		return m
	}
	count := func(m []bool) int {
		n := 0
		for _, x := range m {
			if x {
				n++
			}
		}
		return n
	}
	b10 := ball(10)
	if got, want := count(Erode(b10, dims, sp, 3)), count(ball(7)); math.Abs(float64(got-want)) > 0.1*float64(want) {
		t.Errorf("eroding a 10 mm ball by 3 mm: %d voxels, want about %d", got, want)
	}
	if got, want := count(Dilate(b10, dims, sp, 3)), count(ball(13)); math.Abs(float64(got-want)) > 0.05*float64(want) {
		t.Errorf("dilating a 10 mm ball by 3 mm: %d voxels, want about %d", got, want)
	}
	// A hollow shell: its cavity is a hole and must be filled.
	shell := ball(10)
	inner := ball(6)
	for i := range shell {
		shell[i] = shell[i] && !inner[i]
	}
	if got := count(FillHoles(shell, dims)); got != count(b10) {
		t.Errorf("filling a shell: %d voxels, want %d", got, count(b10))
	}
	// Two balls joined by a thin bridge: opening removes the bridge, and the
	// largest component is the bigger ball.
	two := make([]bool, len(b10))
	for idx := range two {
		i, j, k := idx%41, (idx/41)%41, idx/(41*41)
		dA := (i-12)*(i-12) + (j-20)*(j-20) + (k-20)*(k-20)
		dB := (i-32)*(i-32) + (j-20)*(j-20) + (k-20)*(k-20)
		two[idx] = dA <= 64 || dB <= 16 || (j == 20 && k == 20 && i >= 12 && i <= 32)
	}
	l := Largest(Open(two, dims, sp, 1.5), dims)
	if l[32+41*(20+41*20)] || !l[12+41*(20+41*20)] {
		t.Errorf("opening + largest component did not isolate the big ball")
	}
	closed := Close(shell, dims, sp, 7)
	if !closed[20+41*(20+41*20)] {
		t.Errorf("closing by 7 mm left the centre of a 6 mm cavity empty")
	}
}

func TestOtsuSeparatesTwoClasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]float32, 20000)
	for i := range data {
		if i%2 == 0 {
			data[i] = float32(100 + 10*rng.NormFloat64())
		} else {
			data[i] = float32(300 + 20*rng.NormFloat64())
		}
	}
	th := Otsu(data, nil, 0, 400, 256)
	if th < 130 || th > 240 {
		t.Errorf("Otsu threshold %g, want in the gap between the classes (130..240)", th)
	}
}

func TestSmoothKeepsConstant(t *testing.T) {
	dims := [3]int{10, 8, 6}
	d := make([]float32, 480)
	for i := range d {
		d[i] = 7
	}
	s := Smooth(d, dims, [3]float64{2, 1, 3})
	for i, x := range s {
		if math.Abs(float64(x-7)) > 1e-4 {
			t.Fatalf("voxel %d: %g after smoothing a constant 7", i, x)
		}
	}
	sh, nd := Shrink(d, dims, [3]int{4, 4, 4})
	if nd != [3]int{3, 2, 2} || sh[len(sh)-1] != 7 {
		t.Errorf("shrink: dims %v last %g", nd, sh[len(sh)-1])
	}
}
