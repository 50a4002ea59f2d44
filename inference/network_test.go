package inference

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"metascope/inference/kernels"
	"metascope/inference/nn"
)

func tinyConfig() Config {
	c := DefaultConfig()
	c.InChannels = 2
	c.Channels = []int{2, 3, 3, 4}
	c.Residual = []int{3, 4}
	c.FC = []int{5}
	return c
}

func randInput(r *rand.Rand, shape ...int) *nn.Tensor {
	t := nn.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

func TestGeometry(t *testing.T) {
	g := DefaultConfig().Geometry()
	if g.Margin != 24 || g.NormalMargin != 8 || g.LowMargin != 24 || g.ReceptiveField != 51 || g.Align != 6 {
		t.Errorf("default geometry %+v", g)
	}
	if in, err := g.InputSize(45); err != nil || in != 93 {
		t.Errorf("InputSize(45) = %d, %v", in, err)
	}
	if out, err := g.OutputSize(57); err != nil || out != 9 {
		t.Errorf("OutputSize(57) = %d, %v", out, err)
	}
	if _, err := g.OutputSize(56); err == nil {
		t.Error("OutputSize(56) accepted an output that is not a multiple of 3")
	}
	if _, err := g.InputSize(0); err == nil {
		t.Error("InputSize(0) accepted")
	}
	// Without the low pathway's reach dominating, the margin is the normal one.
	c := DefaultConfig()
	c.Factor = 1
	if g := c.Geometry(); g.Margin != 8 || g.ReceptiveField != 17 {
		t.Errorf("factor-1 geometry %+v", g)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mod := range []func(*Config){
		func(c *Config) { c.InChannels = 0 },
		func(c *Config) { c.Channels = nil },
		func(c *Config) { c.Kernel = 2 },
		func(c *Config) { c.Residual = []int{2} },
		func(c *Config) { c.Residual = []int{4, 4} },
		func(c *Config) { c.Dropout = 1 },
		func(c *Config) { c.Factor = 0 },
		func(c *Config) { c.BNEps = 0 },
	} {
		c := DefaultConfig()
		c.Channels = append([]int(nil), c.Channels...)
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestForwardShapes(t *testing.T) {
	n, err := NewNetwork(tinyConfig(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	geo := n.Geometry()
	in, _ := geo.InputSize(6)
	r := rand.New(rand.NewPCG(1, 1))
	y, err := n.Forward(randInput(r, 2, 2, in, in+3, in))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{2, 1, 6, 9, 6}; !equalInts(y.Shape, want) {
		t.Fatalf("output shape %v, want %v", y.Shape, want)
	}
	for _, v := range y.Data {
		if !(v > 0 && v < 1) {
			t.Fatalf("probability %g outside (0, 1)", v)
		}
	}
	if _, err := n.Forward(randInput(r, 1, 2, in+1, in, in)); err == nil {
		t.Error("input of a size with no valid output accepted")
	}
	if _, err := n.Forward(randInput(r, 1, 3, in, in, in)); err == nil {
		t.Error("input with the wrong channel count accepted")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNetworkGradient builds the tiny network as a gorgonia graph in training
// mode (batch statistics, dropout masks), differentiates sum(w*prob) with
// respect to every parameter and the input, and compares the directional
// derivative along a random direction with a central difference of the same
// wiring run directly.
func TestNetworkGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	n, err := NewNetwork(tinyConfig(), 7, kernels.Default())
	if err != nil {
		t.Fatal(err)
	}
	// Non-trivial BN and PReLU parameters.
	for _, p := range n.Params() {
		if p.Trainable && len(p.T.Shape) == 1 {
			for i := range p.T.Data {
				p.T.Data[i] += 0.3 * float32(r.NormFloat64())
			}
		}
	}
	in, _ := n.Geometry().InputSize(3)
	x := randInput(r, 2, 2, in, in, in)
	fcShape := []int{2, 5, 3, 3, 3}
	mask := nn.DropoutMask(fcShape, 0.5, r.Float64)

	g := G.NewGraph()
	xn := G.NodeFromAny(g, tensor.New(tensor.WithShape(x.Shape...), tensor.WithBacking(x.Data)), G.WithName("x"))
	gr, err := n.Graph(g, xn, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(gr.Masks) != 1 {
		t.Fatalf("%d dropout masks, want 1", len(gr.Masks))
	}
	if err := G.Let(gr.Masks[0], tensor.New(tensor.WithShape(fcShape...), tensor.WithBacking(mask.Data))); err != nil {
		t.Fatal(err)
	}
	w := randInput(r, 2, 1, 3, 3, 3)
	wn := G.NodeFromAny(g, tensor.New(tensor.WithShape(w.Shape...), tensor.WithBacking(w.Data)), G.WithName("w"))
	prod, _ := G.HadamardProd(gr.Prob, wn)
	cost, _ := G.Sum(prod)
	wrt := append(G.Nodes{xn}, gr.Params...)
	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}

	// The tape computes the same parameter gradients without a graph.
	tape, err := n.ForwardTrain(x, func(int, []int) *nn.Tensor { return mask })
	if err != nil {
		t.Fatal(err)
	}
	tg, err := tape.Backward(w)
	if err != nil {
		t.Fatal(err)
	}
	if len(tg) != len(grads)-1 {
		t.Fatalf("tape gave %d gradients, graph %d", len(tg), len(grads)-1)
	}
	for i, g := range tg {
		gv := grads[i+1].Value().Data().([]float32)
		for j := range gv {
			if math.Abs(float64(gv[j]-g.Data[j])) > 1e-4*math.Max(1, math.Abs(float64(gv[j]))) {
				t.Fatalf("%s[%d]: tape %g, graph %g", n.TrainableParams()[i].Name, j, g.Data[j], gv[j])
			}
		}
	}

	// Tensors in wrt order, and a random direction for each.
	var ts []*nn.Tensor
	ts = append(ts, x)
	for _, p := range n.Params() {
		if p.Trainable {
			ts = append(ts, p.T)
		}
	}
	if len(ts) != len(grads) {
		t.Fatalf("%d gradients for %d tensors", len(grads), len(ts))
	}
	var ana float64
	dirs := make([][]float32, len(ts))
	for i, tt := range ts {
		gv := grads[i].Value().Data().([]float32)
		dirs[i] = make([]float32, len(tt.Data))
		for j := range dirs[i] {
			dirs[i][j] = float32(r.NormFloat64())
			ana += float64(dirs[i][j]) * float64(gv[j])
		}
	}
	orig := make([][]float32, len(ts))
	for i, tt := range ts {
		orig[i] = append([]float32(nil), tt.Data...)
	}
	loss := func(s float64) float64 {
		for i, tt := range ts {
			for j := range tt.Data {
				tt.Data[j] = orig[i][j] + float32(s)*dirs[i][j]
			}
		}
		maskFn := func(int, []int) *nn.Tensor { return mask }
		y, err := wire[*nn.Tensor](n, direct{}, x, true, maskFn)
		if err != nil {
			t.Fatal(err)
		}
		var l float64
		for j := range y.Data {
			l += float64(y.Data[j]) * float64(w.Data[j])
		}
		return l
	}
	const eps = 1e-3
	num := (loss(eps) - loss(-eps)) / (2 * eps)
	if math.Abs(num-ana) > 1e-2*math.Max(1, math.Abs(ana)) {
		t.Errorf("directional derivative %g, numeric %g", ana, num)
	}
	t.Logf("directional derivative %g, numeric %g", ana, num)
}

// TestGraphEvalMatchesForward checks that the graph in eval mode computes
// what the direct forward pass computes.
func TestGraphEvalMatchesForward(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	n, _ := NewNetwork(tinyConfig(), 3, nil)
	in, _ := n.Geometry().InputSize(3)
	x := randInput(r, 1, 2, in, in, in)
	want, err := n.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	g := G.NewGraph()
	xn := G.NodeFromAny(g, tensor.New(tensor.WithShape(x.Shape...), tensor.WithBacking(x.Data)))
	gr, err := n.Graph(g, xn, false)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	// Forward folds eval-mode batch norm into the conv weights, the graph
	// keeps the network's own tensors: they agree to float rounding.
	got := gr.Prob.Value().Data().([]float32)
	var worst float64
	for i := range got {
		worst = math.Max(worst, math.Abs(float64(got[i]-want.Data[i])))
	}
	if !(worst < 1e-5) {
		t.Fatalf("graph and direct differ by %g", worst)
	}
	t.Logf("graph and direct differ by %g", worst)
}

func TestParamCount(t *testing.T) {
	for _, c := range []Config{DefaultConfig(), tinyConfig()} {
		n, err := NewNetwork(c, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for _, p := range n.Params() {
			got += int64(len(p.T.Data))
		}
		if got != c.ParamCount() {
			t.Errorf("ParamCount %d, network has %d", c.ParamCount(), got)
		}
	}
}
