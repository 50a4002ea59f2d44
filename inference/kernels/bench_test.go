package kernels

import (
	"math/rand/v2"
	"testing"
)

func gemms() []Gemm {
	g := []Gemm{GonumGemm{}}
	if HaveBLIS {
		g = append(g, defaultGemm())
	}
	return g
}

// BenchmarkSgemm2048 measures the machine's float32 rate, the yardstick of
// the convolution: one call on one goroutine, and two goroutines each on
// half of the columns.
func BenchmarkSgemm2048(b *testing.B) {
	const n = 2048
	r := rand.New(rand.NewPCG(1, 1))
	a, bb := randSlice(r, n*n), randSlice(r, n*n)
	c := make([]float32, n*n)
	for _, g := range gemms() {
		for _, split := range []int{1, 2} {
			b.Run(g.Name()+"/goroutines="+string(rune('0'+split)), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					parallelFor(split, split, func(_, s int) {
						c0 := s * n / split
						c1 := (s + 1) * n / split
						g.Sgemm(false, false, n, c1-c0, n, 1, a, n, bb[c0:], n, 0, c[c0:], n)
					})
				}
				b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// benchBackend names a backend variant for the benchmarks.
type benchBackend struct {
	name string
	be   *CPU
}

func backendsForBench() []benchBackend {
	var out []benchBackend
	for _, g := range gemms() {
		out = append(out, benchBackend{g.Name() + "/winograd", NewCPU(g, 2)})
		d := NewCPU(g, 2)
		d.winograd = false
		out = append(out, benchBackend{g.Name() + "/direct", d})
	}
	return out
}

// BenchmarkConv3D measures one 30->40 channel 3x3x3 layer on a batch of 10
// inputs of 25^3, forward and both backward passes, with and without the
// Winograd path. GFLOP/s counts the direct method's operations, so the
// Winograd figures are effective rates.
func BenchmarkConv3D(b *testing.B) {
	xs, cout, k := Shape5{10, 30, 25, 25, 25}, 40, 3
	r := rand.New(rand.NewPCG(2, 2))
	x := randSlice(r, xs.Len())
	w := randSlice(r, cout*xs[1]*k*k*k)
	ys := ConvOut(xs, cout, k)
	y := make([]float32, ys.Len())
	dx := make([]float32, xs.Len())
	dw := make([]float32, len(w))
	flops := 2 * float64(ys.Len()) * float64(xs[1]*k*k*k)
	for _, bb := range backendsForBench() {
		be := bb.be
		b.Run("forward/"+bb.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				be.Conv3D(y, x, xs, w, cout, k, nil)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run("backdata/"+bb.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				be.Conv3DBackwardData(dx, xs, y, w, cout, k)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run("backfilter/"+bb.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				be.Conv3DBackwardFilter(dw, nil, x, xs, y, cout, k)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
