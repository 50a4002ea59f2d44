package training

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func loadTestCases(t *testing.T, n int) []*trainCase {
	t.Helper()
	var out []*trainCase
	for _, c := range testCases(t, n) {
		tc, err := loadTrainCase(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tc)
	}
	return out
}

// The share of lesion-centred patches and of flips per axis are the
// options' probabilities (within 4 standard errors), and every centre is
// where its kind says: on a label voxel, or on brain outside the label.
func TestSamplerRatioAndFlips(t *testing.T) {
	cases := loadTestCases(t, 3)
	idx := []int{0, 1, 2}
	for _, o := range []struct{ lesion, flip float64 }{{0.5, 0.5}, {0.3, 0.2}, {1, 0}} {
		rng := rand.New(rand.NewPCG(3, 4))
		const n = 4000
		var nl int
		var nf [3]int
		for i := 0; i < n; i++ {
			p := drawPatch(rng, cases, idx, o.lesion, o.flip)
			c := cases[p.Case]
			v := (p.Centre[2]*c.Dims[1]+p.Centre[1])*c.Dims[0] + p.Centre[0]
			if p.Lesion {
				nl++
				if c.Label[v] == 0 {
					t.Fatalf("lesion patch centred off the label at %v", p.Centre)
				}
			} else if c.Label[v] != 0 {
				t.Fatalf("background patch centred on the label at %v", p.Centre)
			}
			for a, f := range p.Flip {
				if f {
					nf[a]++
				}
			}
		}
		check := func(what string, k int, p float64) {
			se := math.Sqrt(p * (1 - p) / n)
			if got := float64(k) / n; math.Abs(got-p) > 4*se+1e-12 {
				t.Errorf("%s: share %.3f, want %.3f", what, got, p)
			}
		}
		check("lesion patches", nl, o.lesion)
		for a := range nf {
			check("flips", nf[a], o.flip)
		}
	}
}

// A flipped patch is the unflipped one mirrored, input and target alike,
// and the target is the label under the input block's centre.
func TestExtractPatchFlips(t *testing.T) {
	cases := loadTestCases(t, 1)
	c := cases[0]
	const out, margin = 6, 5
	S := out + 2*margin
	var p Patch
	p.Centre = coords(c.Dims, c.lesion[len(c.lesion)/2])
	x0, y0 := make([]float32, 4*S*S*S), make([]float32, out*out*out)
	extractPatch(x0, y0, c, p, out, margin)
	var sum float32
	for _, v := range y0 {
		sum += v
	}
	if sum == 0 || y0[((out/2)*out+out/2)*out+out/2] != 1 {
		t.Fatal("target of a lesion-centred patch has no lesion at its centre")
	}
	// Target voxel (i,j,k) is the label at centre - out/2 + (i,j,k).
	for k := 0; k < out; k++ {
		for j := 0; j < out; j++ {
			for i := 0; i < out; i++ {
				v := [3]int{p.Centre[0] - out/2 + i, p.Centre[1] - out/2 + j, p.Centre[2] - out/2 + k}
				want := float32(0)
				if c.Label[(v[2]*c.Dims[1]+v[1])*c.Dims[0]+v[0]] != 0 {
					want = 1
				}
				if y0[(k*out+j)*out+i] != want {
					t.Fatalf("target at %d,%d,%d = %v, want %v", i, j, k, y0[(k*out+j)*out+i], want)
				}
			}
		}
	}
	for _, flip := range [][3]bool{{true, false, false}, {false, true, false}, {false, false, true}, {true, true, true}} {
		q := p
		q.Flip = flip
		x1, y1 := make([]float32, 4*S*S*S), make([]float32, out*out*out)
		extractPatch(x1, y1, c, q, out, margin)
		m := func(d, size, a int) int {
			if flip[a] {
				return size - 1 - d
			}
			return d
		}
		for ch := 0; ch < 4; ch++ {
			for k := 0; k < S; k++ {
				for j := 0; j < S; j++ {
					for i := 0; i < S; i++ {
						a := x1[((ch*S+k)*S+j)*S+i]
						b := x0[((ch*S+m(k, S, 2))*S+m(j, S, 1))*S+m(i, S, 0)]
						if a != b {
							t.Fatalf("flip %v: input differs at %d,%d,%d", flip, i, j, k)
						}
					}
				}
			}
		}
		for k := 0; k < out; k++ {
			for j := 0; j < out; j++ {
				for i := 0; i < out; i++ {
					if y1[(k*out+j)*out+i] != y0[(m(k, out, 2)*out+m(j, out, 1))*out+m(i, out, 0)] {
						t.Fatalf("flip %v: target differs at %d,%d,%d", flip, i, j, k)
					}
				}
			}
		}
	}
}

// The cache holds at most its size and reloads what it dropped.
func TestCacheIsBounded(t *testing.T) {
	cases := testCases(t, 3)
	c := newCache(2)
	loads := 0
	c.load = func(ctx context.Context, cs Case) (*trainCase, error) { loads++; return loadTrainCase(ctx, cs) }
	for _, i := range []int{0, 1, 0, 2, 1, 0} {
		if _, err := c.get(context.Background(), cases[i]); err != nil {
			t.Fatal(err)
		}
		if len(c.data) > 2 {
			t.Fatalf("cache holds %d cases", len(c.data))
		}
	}
	// 0, 1 load; 0 hits; 2 drops 1; 1 reloads, dropping 0; 0 reloads.
	if loads != 5 {
		t.Errorf("%d loads, want 5", loads)
	}
}
