package training

import (
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"

	"metascope/inference"
	"metascope/inference/nn"
	"metascope/internal/procstat"
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
	defer trainingGC()() // as Train runs the steps
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
	// The live heap after a collection, after the first step and after
	// the last, shows any growth per step; the process's peak resident
	// memory (Linux VmHWM) is the figure the 2 GB budget is about.
	live := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapAlloc) / (1 << 20)
	}
	// The activations a training step holds after the forward pass: the
	// tape, live after a collection (without dropout here; the tape holds
	// the masks packed, 1/32 of a layer's output).
	before := live()
	tape, err := net.ForwardTrain(x, nil)
	if err != nil {
		b.Fatal(err)
	}
	tapeMB := live() - before
	runtime.KeepAlive(tape)
	tape = nil
	var first float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := trainStep(net, opt, params, x, y, 1e-3, cfg.Dropout, rng); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.StopTimer()
			first = live()
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*batchSize*patch*patch*patch)/b.Elapsed().Seconds(), "voxels/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/step")
	b.ReportMetric(live()-first, "live-growth-MB")
	b.ReportMetric(tapeMB, "tape-live-MB")
	if hwm, ok := procstat.PeakRSSMB(); ok {
		b.ReportMetric(hwm, "peak-rss-MB")
	}
}

func BenchmarkTrainStepTiny(b *testing.B) { benchStep(b, NetworkConfig(Tiny), 9, 10) }
func BenchmarkTrainStepDemo(b *testing.B) { benchStep(b, NetworkConfig(Demo), 9, 10) }
func BenchmarkTrainStepFull(b *testing.B) { benchStep(b, NetworkConfig(Full), 24, 10) }

// TestTrainingGC: training lowers the collector's target to
// trainingGCPercent and restores it after; a lower setting, or GOGC=off,
// stays as the user set it.
func TestTrainingGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	for _, c := range []struct{ before, during int }{
		{100, trainingGCPercent}, {trainingGCPercent + 1, trainingGCPercent}, {10, 10}, {-1, -1},
	} {
		debug.SetGCPercent(c.before)
		restore := trainingGC()
		if got := debug.SetGCPercent(c.during); got != c.during {
			t.Errorf("GOGC %d: %d during training, want %d", c.before, got, c.during)
		}
		restore()
		if got := debug.SetGCPercent(100); got != c.before {
			t.Errorf("GOGC %d: %d after training", c.before, got)
		}
	}
}
