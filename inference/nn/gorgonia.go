package nn

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Apply adds f to a gorgonia graph as an op on the given nodes. The op is
// differentiable through G.Grad: its SymDiff adds one companion op per input
// that calls f.Backward. Second derivatives are not supported.
func Apply(f Func, in ...*G.Node) (*G.Node, error) {
	return G.ApplyOp(gop{f: f, wrt: -1}, in...)
}

// gop adapts a Func to gorgonia's Op: wrt < 0 is the forward op; wrt >= 0
// the gradient with respect to input wrt, whose inputs are f's inputs, then
// f's output, then the gradient of the loss with respect to that output.
type gop struct {
	f   Func
	wrt int
}

func (o gop) Arity() int {
	n := len(o.f.InRanks())
	if o.wrt >= 0 {
		n += 2
	}
	return n
}

// outRank is the rank of every Func's output: all layers map NCDHW to NCDHW.
const outRank = 5

func (o gop) Type() hm.Type {
	a := hm.TypeVariable('a')
	var ts []hm.Type
	for _, r := range o.f.InRanks() {
		ts = append(ts, G.TensorType{Dims: r, Of: a})
	}
	out := G.TensorType{Dims: outRank, Of: a}
	if o.wrt >= 0 {
		ts = append(ts, out, out, G.TensorType{Dims: o.f.InRanks()[o.wrt], Of: a})
	} else {
		ts = append(ts, out)
	}
	return hm.NewFnType(ts...)
}

func (o gop) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	n := len(o.f.InRanks())
	if len(ds) < n {
		return nil, fmt.Errorf("%v: %d input shapes, want %d", o, len(ds), n)
	}
	shapes := make([][]int, n)
	for i := 0; i < n; i++ {
		s, ok := ds[i].(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("%v: input %d has no shape", o, i)
		}
		shapes[i] = []int(s)
	}
	if o.wrt >= 0 {
		return tensor.Shape(append([]int(nil), shapes[o.wrt]...)), nil
	}
	s, err := o.f.OutShape(shapes)
	if err != nil {
		return nil, err
	}
	if len(s) != outRank {
		return nil, fmt.Errorf("%v: output rank %d, want %d", o, len(s), outRank)
	}
	return tensor.Shape(s), nil
}

func fromValue(v G.Value) (*Tensor, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("value of type %T is not a dense tensor", v)
	}
	data, ok := d.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("value of dtype %v is not float32", d.Dtype())
	}
	return &Tensor{Shape: []int(d.Shape().Clone()), Data: data}, nil
}

func (o gop) Do(vals ...G.Value) (v G.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v: %v", o, r)
		}
	}()
	if len(vals) != o.Arity() {
		return nil, fmt.Errorf("%v: %d inputs, want %d", o, len(vals), o.Arity())
	}
	ts := make([]*Tensor, len(vals))
	for i, x := range vals {
		if ts[i], err = fromValue(x); err != nil {
			return nil, fmt.Errorf("%v: input %d: %w", o, i, err)
		}
	}
	n := len(o.f.InRanks())
	var out *Tensor
	if o.wrt < 0 {
		out, err = Call(o.f, ts...)
		if err != nil {
			return nil, err
		}
	} else {
		out = o.f.Backward(ts[:n], ts[n], ts[n+1], o.wrt)
	}
	return tensor.New(tensor.WithShape(out.Shape...), tensor.WithBacking(out.Data)), nil
}

func (o gop) ReturnsPtr() bool      { return false }
func (o gop) CallsExtern() bool     { return false }
func (o gop) OverwritesInput() int  { return -1 }
func (o gop) WriteHash(h hash.Hash) { fmt.Fprint(h, o.String()) }
func (o gop) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}
func (o gop) String() string {
	if o.wrt < 0 {
		return o.f.String()
	}
	return fmt.Sprintf("d%v/d%d", o.f, o.wrt)
}

// DiffWRT implements gorgonia's SDOp.
func (o gop) DiffWRT(n int) []bool {
	d := make([]bool, n)
	if o.wrt < 0 {
		copy(d, o.f.DiffWRT())
	}
	return d
}

// SymDiff implements gorgonia's SDOp.
func (o gop) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if o.wrt >= 0 {
		return nil, fmt.Errorf("%v: second derivatives are not supported", o)
	}
	diffs := make(G.Nodes, len(inputs))
	args := append(append(G.Nodes{}, inputs...), output, grad)
	for i, d := range o.f.DiffWRT() {
		if !d {
			continue
		}
		n, err := G.ApplyOp(gop{f: o.f, wrt: i}, args...)
		if err != nil {
			return nil, fmt.Errorf("%v: gradient %d: %w", o, i, err)
		}
		diffs[i] = n
	}
	return diffs, nil
}
