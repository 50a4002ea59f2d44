package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"metascope/inference/kernels"
)

func randT(r *rand.Rand, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

// awayFromZero moves values off the PReLU kink so that finite differences
// with a small step never cross it.
func awayFromZero(t *Tensor) *Tensor {
	for i, v := range t.Data {
		if v >= 0 {
			t.Data[i] = v + 0.2
		} else {
			t.Data[i] = v - 0.2
		}
	}
	return t
}

type opCase struct {
	name string
	f    Func
	in   []*Tensor
}

func opCases(r *rand.Rand) []opCase {
	be := kernels.Default()
	st := NewBNState(3)
	for i := range st.Mean {
		st.Mean[i], st.Var[i] = float32(r.NormFloat64()), 0.5+r.Float32()
	}
	mask := DropoutMask([]int{2, 3, 3, 2, 4}, 0.5, r.Float64)
	return []opCase{
		{"conv3d", Conv3D{Backend: be, K: 3}, []*Tensor{randT(r, 2, 3, 5, 4, 6), randT(r, 4, 3, 3, 3, 3), randT(r, 4)}},
		// Six input channels: the backend's Winograd path.
		{"conv3d-winograd", Conv3D{Backend: be, K: 3}, []*Tensor{randT(r, 2, 6, 5, 4, 7), randT(r, 3, 6, 3, 3, 3), randT(r, 3)}},
		{"conv1x1", Conv3D{Backend: be, K: 1}, []*Tensor{randT(r, 2, 3, 2, 3, 2), randT(r, 5, 3, 1, 1, 1), randT(r, 5)}},
		{"prelu", PReLU{}, []*Tensor{awayFromZero(randT(r, 2, 3, 3, 2, 4)), randT(r, 3)}},
		{"bn-train", BatchNorm3D{State: NewBNState(3), Train: true, Momentum: 0.1, Eps: 1e-5}, []*Tensor{randT(r, 2, 3, 3, 2, 4), randT(r, 3), randT(r, 3)}},
		{"bn-eval", BatchNorm3D{State: st, Eps: 1e-5}, []*Tensor{randT(r, 2, 3, 3, 2, 4), randT(r, 3), randT(r, 3)}},
		{"avgpool", AvgPool{F: 3}, []*Tensor{randT(r, 2, 2, 6, 3, 9)}},
		{"upsample", Upsample{F: 3}, []*Tensor{randT(r, 2, 2, 2, 1, 3)}},
		{"crop", Crop{Size: [3]int{2, 1, 2}}, []*Tensor{randT(r, 2, 2, 4, 5, 6)}},
		{"cropadd-fewer", CropAdd{}, []*Tensor{randT(r, 2, 3, 2, 3, 2), randT(r, 2, 2, 4, 5, 4)}},
		{"cropadd-more", CropAdd{}, []*Tensor{randT(r, 2, 2, 2, 3, 2), randT(r, 2, 3, 4, 5, 4)}},
		{"concat", Concat{}, []*Tensor{randT(r, 2, 2, 2, 3, 2), randT(r, 2, 3, 2, 3, 2)}},
		{"sigmoid", Sigmoid{}, []*Tensor{randT(r, 2, 1, 3, 2, 2)}},
		{"dropout", Dropout{}, []*Tensor{randT(r, 2, 3, 3, 2, 4), mask}},
	}
}

func dotLoss(y, w *Tensor) float64 {
	var s float64
	for i := range y.Data {
		s += float64(y.Data[i]) * float64(w.Data[i])
	}
	return s
}

// TestOpGradients compares each op's Backward with a central difference of
// the loss sum(w*f(x)) along a random direction, input by input.
func TestOpGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, tc := range opCases(r) {
		out, err := Call(tc.f, tc.in...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		w := randT(r, out.Shape...)
		for i, d := range tc.f.DiffWRT() {
			if !d {
				continue
			}
			g := tc.f.Backward(tc.in, out, w, i)
			if !equal(g.Shape, tc.in[i].Shape) {
				t.Fatalf("%s: gradient %d has shape %v, want %v", tc.name, i, g.Shape, tc.in[i].Shape)
			}
			v := randT(r, tc.in[i].Shape...)
			const eps = 1e-3
			orig := append([]float32(nil), tc.in[i].Data...)
			loss := func(s float64) float64 {
				for j := range orig {
					tc.in[i].Data[j] = orig[j] + float32(s*eps)*v.Data[j]
				}
				return dotLoss(tc.f.Forward(tc.in), w)
			}
			num := (loss(1) - loss(-1)) / (2 * eps)
			copy(tc.in[i].Data, orig)
			ana := dotLoss(g, v)
			if math.Abs(num-ana) > 2e-3*math.Max(1, math.Abs(ana)) {
				t.Errorf("%s: input %d: directional derivative %g, numeric %g", tc.name, i, ana, num)
			}
		}
	}
}

func TestBatchNormRunningStatistics(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	x := randT(r, 4, 2, 3, 3, 3)
	for i := range x.Data[:27] { // sample 0, channel 0 shifted
		x.Data[i] += 5
	}
	st := NewBNState(2)
	bn := BatchNorm3D{State: st, Train: true, Momentum: 1, Eps: 1e-5}
	one := &Tensor{Shape: []int{2}, Data: []float32{1, 1}}
	zero := New(2)
	y := bn.Forward([]*Tensor{x, one, zero})
	// With momentum 1 the running statistics are the batch's; eval mode
	// must then reproduce the training output up to the unbiased variance.
	ev := BatchNorm3D{State: st, Eps: 1e-5}.Forward([]*Tensor{x, one, zero})
	m := float64(x.Len() / 2)
	k := math.Sqrt((m - 1) / m)
	for i := range y.Data {
		if math.Abs(float64(ev.Data[i])-k*float64(y.Data[i])) > 1e-4 {
			t.Fatalf("eval output %g, want %g", ev.Data[i], k*float64(y.Data[i]))
		}
	}
	// Train output has zero mean and unit variance per channel.
	var s, s2 float64
	for n := 0; n < 4; n++ {
		for _, v := range y.Data[n*54 : n*54+27] {
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
	}
	if math.Abs(s/108) > 1e-5 || math.Abs(s2/108-1) > 1e-3 {
		t.Errorf("channel 0 mean %g, second moment %g", s/108, s2/108)
	}
}

func TestShapeErrors(t *testing.T) {
	be := kernels.Default()
	for _, tc := range []struct {
		f  Func
		in []*Tensor
	}{
		{Conv3D{Backend: be, K: 3}, []*Tensor{New(1, 2, 4, 4, 4), New(3, 3, 3, 3, 3), New(3)}},
		{Conv3D{Backend: be, K: 3}, []*Tensor{New(1, 2, 2, 4, 4), New(3, 2, 3, 3, 3), New(3)}},
		{AvgPool{F: 3}, []*Tensor{New(1, 1, 4, 3, 3)}},
		{Crop{Size: [3]int{3, 3, 3}}, []*Tensor{New(1, 1, 4, 5, 5)}},
		{Concat{}, []*Tensor{New(1, 1, 2, 2, 2), New(1, 1, 2, 3, 2)}},
		{PReLU{}, []*Tensor{New(1, 2, 2, 2, 2), New(3)}},
	} {
		if _, err := Call(tc.f, tc.in...); err == nil {
			t.Errorf("%v accepted bad shapes", tc.f)
		}
	}
}

// TestGorgoniaAdapter builds each op in a gorgonia graph, differentiates the
// loss sum(w*f(x)) with G.Grad and checks value and gradients against the
// Funcs called directly.
func TestGorgoniaAdapter(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	for _, tc := range opCases(r) {
		if bn, ok := tc.f.(BatchNorm3D); ok && bn.Train {
			// Its Forward moves the running statistics, which is fine, but
			// compare on a copy of the state so both runs see the same.
			bn.State = NewBNState(len(bn.State.Mean))
			tc.f = bn
		}
		g := G.NewGraph()
		var nodes G.Nodes
		for i, x := range tc.in {
			v := tensor.New(tensor.WithShape(x.Shape...), tensor.WithBacking(append([]float32(nil), x.Data...)))
			nodes = append(nodes, G.NodeFromAny(g, v, G.WithName(string(rune('a'+i)))))
		}
		y, err := Apply(tc.f, nodes...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want, _ := Call(tc.f, tc.in...)
		w := randT(r, want.Shape...)
		wn := G.NodeFromAny(g, tensor.New(tensor.WithShape(w.Shape...), tensor.WithBacking(w.Data)), G.WithName("w"))
		prod, err := G.HadamardProd(y, wn)
		if err != nil {
			t.Fatal(err)
		}
		cost, err := G.Sum(prod)
		if err != nil {
			t.Fatal(err)
		}
		var wrt G.Nodes
		var idx []int
		for i, d := range tc.f.DiffWRT() {
			if d {
				wrt = append(wrt, nodes[i])
				idx = append(idx, i)
			}
		}
		grads, err := G.Grad(cost, wrt...)
		if err != nil {
			t.Fatalf("%s: grad: %v", tc.name, err)
		}
		m := G.NewTapeMachine(g)
		if err := m.RunAll(); err != nil {
			t.Fatalf("%s: run: %v", tc.name, err)
		}
		got, err := fromValue(y.Value())
		if err != nil {
			t.Fatal(err)
		}
		if e := maxDiff(got, want); e > 1e-5 {
			t.Errorf("%s: graph output differs by %g", tc.name, e)
		}
		for j, gn := range grads {
			gv, err := fromValue(gn.Value())
			if err != nil {
				t.Fatal(err)
			}
			direct := tc.f.Backward(tc.in, want, w, idx[j])
			if e := maxDiff(gv, direct); e > 1e-4 {
				t.Errorf("%s: graph gradient %d differs by %g", tc.name, idx[j], e)
			}
		}
		m.Close()
	}
}

func maxDiff(a, b *Tensor) float64 {
	if len(a.Data) != len(b.Data) {
		return math.Inf(1)
	}
	var e float64
	for i := range a.Data {
		e = math.Max(e, math.Abs(float64(a.Data[i]-b.Data[i])))
	}
	return e
}

// TestInPlaceMatchesForward checks that every InPlace op computes over its
// input exactly what Forward computes into a new tensor.
func TestInPlaceMatchesForward(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	n := 0
	for _, tc := range opCases(r) {
		if _, ok := tc.f.(InPlace); !ok {
			continue
		}
		n++
		want, err := Call(tc.f, tc.in...)
		if err != nil {
			t.Fatal(err)
		}
		in := append([]*Tensor(nil), tc.in...)
		in[0] = &Tensor{Shape: tc.in[0].Shape, Data: append([]float32(nil), tc.in[0].Data...)}
		got, err := CallOver(tc.f, in...)
		if err != nil {
			t.Fatal(err)
		}
		if &got.Data[0] != &in[0].Data[0] || maxDiff(got, want) != 0 {
			t.Errorf("%s: in-place result differs or was not in place", tc.name)
		}
	}
	if n < 4 {
		t.Errorf("only %d in-place ops tested", n)
	}
}

// TestLargeTensorsParallel runs the per-channel ops on a tensor large enough
// to be split over goroutines (run with -race) and checks them against a
// plain loop.
func TestLargeTensorsParallel(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 15))
	x := randT(r, 2, 4, 21, 21, 21)
	a := randT(r, 4)
	y := PReLU{}.Forward([]*Tensor{x, a})
	sp := 21 * 21 * 21
	for i, v := range x.Data {
		want := v
		if v <= 0 {
			want = a.Data[(i/sp)%4] * v
		}
		if y.Data[i] != want {
			t.Fatalf("prelu at %d: %g, want %g", i, y.Data[i], want)
		}
	}
	one, zero := &Tensor{Shape: []int{4}, Data: []float32{1, 1, 1, 1}}, New(4)
	bn := BatchNorm3D{State: NewBNState(4), Train: true, Momentum: 1, Eps: 1e-5}
	z := bn.Forward([]*Tensor{x, one, zero})
	for c := 0; c < 4; c++ {
		var s float64
		for n := 0; n < 2; n++ {
			for _, v := range z.Data[(n*4+c)*sp : (n*4+c+1)*sp] {
				s += float64(v)
			}
		}
		if math.Abs(s/float64(2*sp)) > 1e-4 {
			t.Errorf("channel %d mean %g after batch norm", c, s/float64(2*sp))
		}
	}
	dx := bn.Backward([]*Tensor{x, one, zero}, z, z, 0)
	dg := bn.Backward([]*Tensor{x, one, zero}, z, z, 1)
	if len(dx.Data) != len(x.Data) || len(dg.Data) != 4 {
		t.Fatal("gradient shapes")
	}
}
