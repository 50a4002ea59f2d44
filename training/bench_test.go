package training

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"metascope/inference"
	"metascope/inference/nn"
)

// benchStep times one optimiser step (forward, Dice loss, backward,
// RMSprop) of a preset on a batch of random patches, and reports the
// voxels trained per second and the heap in use after the step.
func benchStep(b *testing.B, cfg inference.Config, patch, batchSize int) {
	net, err := inference.NewNetwork(cfg, 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	var params []*nn.Tensor
	for _, p := range net.TrainableParams() {
		params = append(params, p.T)
	}
	opt := newRMSprop(params, 0.9, 1e-6)
	S := patch + 2*net.Geometry().Margin
	rng := rand.New(rand.NewPCG(1, 2))
	x := nn.New(batchSize, cfg.InChannels, S, S, S)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	y := nn.New(batchSize, 1, patch, patch, patch)
	for i := range y.Data {
		if rng.Float64() < 0.3 {
			y.Data[i] = 1
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := trainStep(net, opt, params, x, y, 1e-3, cfg.Dropout, rng); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(b.N*batchSize*patch*patch*patch)/b.Elapsed().Seconds(), "voxels/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/step")
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MB")
}

func BenchmarkTrainStepTiny(b *testing.B) { benchStep(b, NetworkConfig(Tiny), 9, 10) }
func BenchmarkTrainStepDemo(b *testing.B) { benchStep(b, NetworkConfig(Demo), 9, 10) }
func BenchmarkTrainStepFull(b *testing.B) { benchStep(b, NetworkConfig(Full), 24, 10) }
