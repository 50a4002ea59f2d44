package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBackwardReadsShapesSuffice runs every op's Backward, input by input,
// once on the real tensors and once with the values BackwardReads says it
// does not read removed (Data nil, shape kept): the gradients must be the
// same bits, and reading a removed value panics or differs.
func TestBackwardReadsShapesSuffice(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, tc := range opCases(r) {
		out, err := Call(tc.f, tc.in...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		dout := randT(r, out.Shape...)
		for wrt, d := range tc.f.DiffWRT() {
			if !d {
				continue
			}
			want := tc.f.Backward(tc.in, out, dout, wrt)
			rin, rout := Reads(tc.f, wrt)
			if len(rin) != len(tc.in) {
				t.Fatalf("%s: BackwardReads(%d) covers %d inputs of %d", tc.name, wrt, len(rin), len(tc.in))
			}
			strip := func(x *Tensor, keep bool) *Tensor {
				if keep {
					return x
				}
				return &Tensor{Shape: x.Shape}
			}
			in := make([]*Tensor, len(tc.in))
			for i, x := range tc.in {
				in[i] = strip(x, rin[i])
			}
			var got *Tensor
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s: Backward(wrt %d) without the values it says it does not read: %v", tc.name, wrt, p)
					}
				}()
				got = tc.f.Backward(in, strip(out, rout), dout, wrt)
			}()
			if got == nil {
				continue
			}
			if !slices.Equal(got.Shape, want.Shape) || !slices.Equal(bits(got.Data), bits(want.Data)) {
				t.Errorf("%s: Backward(wrt %d) differs without the values it says it does not read", tc.name, wrt)
			}
		}
	}
}

func bits(d []float32) []uint32 {
	b := make([]uint32, len(d))
	for i, v := range d {
		b[i] = math.Float32bits(v)
	}
	return b
}

// TestBatchNormReplay: a training forward pass with an empty Batch fills it
// and moves the running statistics once, like one without; forward again
// with the filled Batch (a replay) gives the same bits and leaves the
// running statistics alone; Backward with the saved statistics equals
// Backward recomputing them.
func TestBatchNormReplay(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	x, g, b := randT(r, 2, 3, 4, 3, 5), randT(r, 3), randT(r, 3)
	for i := range x.Data {
		x.Data[i] = 2*x.Data[i] + 1
	}
	in := []*Tensor{x, g, b}
	plain := BatchNorm3D{State: NewBNState(3), Train: true, Momentum: 0.1, Eps: 1e-5}
	saved := plain
	saved.State, saved.Batch = NewBNState(3), new(BNBatch)
	want := plain.Forward(in)
	y := saved.Forward(in)
	if !slices.Equal(bits(y.Data), bits(want.Data)) {
		t.Fatal("forward with Batch differs from forward without")
	}
	if len(saved.Batch.Mean) != 3 || len(saved.Batch.IStd) != 3 {
		t.Fatalf("Batch not filled: %+v", saved.Batch)
	}
	if !slices.Equal(saved.State.Mean, plain.State.Mean) || !slices.Equal(saved.State.Var, plain.State.Var) {
		t.Fatalf("running statistics %+v, want %+v", saved.State, plain.State)
	}
	if saved.State.Mean[0] == 0 {
		t.Fatal("running mean did not move")
	}
	mean, vr := slices.Clone(saved.State.Mean), slices.Clone(saved.State.Var)
	y2 := saved.Forward(in)
	if !slices.Equal(bits(y2.Data), bits(want.Data)) {
		t.Error("replay differs from the forward pass")
	}
	if !slices.Equal(saved.State.Mean, mean) || !slices.Equal(saved.State.Var, vr) {
		t.Error("replay moved the running statistics")
	}
	dout := randT(r, y.Shape...)
	for wrt := 0; wrt < 3; wrt++ {
		if !slices.Equal(bits(saved.Backward(in, y, dout, wrt).Data), bits(plain.Backward(in, want, dout, wrt).Data)) {
			t.Errorf("Backward(wrt %d) with saved statistics differs", wrt)
		}
	}
	// The saved statistics are used even when x has changed (a replay
	// trusts them); eval mode ignores Batch.
	x.Data[0] += 10
	if !slices.Equal(bits(saved.Forward(in).Data[1:]), bits(want.Data[1:])) {
		t.Error("replay recomputed the statistics")
	}
	ev := BatchNorm3D{State: plain.State, Eps: 1e-5}
	evb := ev
	evb.Batch = saved.Batch
	if !slices.Equal(bits(ev.Forward(in).Data), bits(evb.Forward(in).Data)) {
		t.Error("eval mode used Batch")
	}
}

func TestPackMask(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	m := DropoutMask([]int{2, 3, 5, 4, 7}, 0.3, r.Float64)
	p, ok := PackMask(m)
	if !ok {
		t.Fatal("a dropout mask did not pack")
	}
	u := p.Unpack()
	if !slices.Equal(u.Shape, m.Shape) || !slices.Equal(bits(u.Data), bits(m.Data)) {
		t.Error("unpacked mask differs")
	}
	m.Data[3], m.Data[4] = 2, 3
	if _, ok := PackMask(m); ok {
		t.Error("a mask with two non-zero values packed")
	}
}
