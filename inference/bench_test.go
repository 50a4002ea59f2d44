package inference

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"metascope/inference/kernels"
	"metascope/internal/procstat"
)

// sgemmRate is the machine's SGEMM rate per CPU-second (1024^3, one
// goroutine, the best of three), the yardstick of the convolutions.
func sgemmRate(g kernels.Gemm) float64 {
	const n = 1024
	r := rand.New(rand.NewPCG(5, 5))
	a, bm := randInput(r, n, n), randInput(r, n, n)
	c := make([]float32, n*n)
	best := 0.0
	for range 3 {
		cpu0 := procstat.CPUSeconds()
		g.Sgemm(false, false, n, n, n, 1, a.Data, n, bm.Data, n, 0, c, n)
		best = max(best, 2*n*n*n/(procstat.CPUSeconds()-cpu0)/1e9)
	}
	return best
}

// BenchmarkLayers measures every conv layer of the default network on one
// inference segment (DefaultSegment^3 output), forward only and as inference runs it
// (batch norm folded, PReLU fused, into an output buffer it reuses), in
// GFLOP/s (of the direct method: Winograd layers do fewer operations) and
// as a share of the machine's SGEMM rate per CPU-second (the bar:
// 40 %).
func BenchmarkLayers(b *testing.B) {
	cfg := DefaultConfig()
	n, _ := NewNetwork(cfg, 1, kernels.Default())
	geo := n.Geometry()
	const out = DefaultSegment
	r := rand.New(rand.NewPCG(1, 1))
	run := func(name string, l Layer, size, k int) {
		cin := l.W.Shape[1]
		x := randInput(r, 1, cin, size, size, size)
		w, bias := l.foldBN(float32(cfg.BNEps))
		xs := x.S5()
		ys := kernels.ConvOut(xs, l.W.Shape[0], k)
		y := make([]float32, ys.Len())
		fused := n.Backend.(kernels.PReLUConv)
		flops := 2 * float64(l.W.Len()) * float64(ys.Spatial())
		b.Run(name, func(b *testing.B) {
			// The yardstick is measured next to each layer: this
			// machine's speed drifts by 10 % and more between minutes.
			ref := sgemmRate(n.Backend.Gemm())
			b.ResetTimer()
			cpu0 := procstat.CPUSeconds()
			for i := 0; i < b.N; i++ {
				fused.Conv3DPReLU(y, x.Data, xs, w.Data, ys[1], k, bias.Data, l.Alpha.Data)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			rate := flops * float64(b.N) / (procstat.CPUSeconds() - cpu0) / 1e9
			b.ReportMetric(rate, "GFLOP/cpu-s")
			b.ReportMetric(100*rate/ref, "%-of-SGEMM")
		})
	}
	size := out + 2*geo.NormalMargin
	for i, l := range n.Normal {
		run(fmt.Sprintf("normal.%d", i+1), l, size, cfg.Kernel)
		size -= cfg.Kernel - 1
	}
	size = (out + 2*geo.Margin) / cfg.Factor
	for i, l := range n.Low {
		run(fmt.Sprintf("low.%d", i+1), l, size, cfg.Kernel)
		size -= cfg.Kernel - 1
	}
	for i, l := range n.FC {
		run(fmt.Sprintf("fc.%d", i+1), l, out, 1)
	}
}

// BenchmarkSegment runs the whole default network on one segment and reports
// voxels/s of output and the network's overall GFLOP/s.
func BenchmarkSegment(b *testing.B) {
	for _, out := range []int{45, 60} {
		b.Run(fmt.Sprintf("out=%d", out), func(b *testing.B) {
			n, _ := NewNetwork(DefaultConfig(), 1, kernels.Default())
			in, _ := n.Geometry().InputSize(out)
			x := randInput(rand.New(rand.NewPCG(1, 2)), 1, 4, in, in, in)
			b.ResetTimer()
			cpu0 := procstat.CPUSeconds()
			for i := 0; i < b.N; i++ {
				if _, err := n.Forward(x); err != nil {
					b.Fatal(err)
				}
			}
			s := b.Elapsed().Seconds()
			cpu := (procstat.CPUSeconds() - cpu0) / float64(b.N)
			flops := n.FLOPs([3]int{out, out, out})
			b.ReportMetric(float64(out*out*out*b.N)/s, "voxels/s")
			b.ReportMetric(flops*float64(b.N)/s/1e9, "GFLOP/s")
			// CPU time is what a loaded machine cannot blur: GFLOP per
			// CPU-second is the rate per core.
			b.ReportMetric(cpu, "cpu-s/op")
			b.ReportMetric(flops/cpu/1e9, "GFLOP/cpu-s")
		})
	}
}
