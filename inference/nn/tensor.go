// Package nn holds the layer operations of Metascope's network, each written
// once as plain Go on float32 tensors (forward and backward), and an adapter
// that makes every one of them a gorgonia op with symbolic differentiation.
//
// Inference calls the Funcs directly, layer after layer, on the compute
// backend (no graph: gorgonia's machines allocate every buffer on every run
// and lock OS threads, which costs more than the layers for large segments);
// training builds a gorgonia graph from the same Funcs through Apply. There is
// one implementation of each piece of math.
//
// gorgonia v0.9.18 lacks 3D convolution, 3D pooling and upsampling, PReLU
// and a batch norm of more than 4 axes, and its own batch norm differentiates
// eval mode with the batch statistic; those are all here.
package nn

import (
	"fmt"

	"metascope/inference/kernels"
)

// Tensor is a dense float32 array, row-major (last axis fastest).
type Tensor struct {
	Shape []int
	Data  []float32
}

// New allocates a zero tensor.
func New(shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// S5 is the shape of a rank-5 tensor (NCDHW); it panics on another rank.
func (t *Tensor) S5() kernels.Shape5 {
	if len(t.Shape) != 5 {
		panic(fmt.Sprintf("nn: want a rank-5 tensor, have shape %v", t.Shape))
	}
	return kernels.Shape5{t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3], t.Shape[4]}
}

// Len is the number of elements of shape s.
func Len(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func s5(s []int) kernels.Shape5 { return kernels.Shape5{s[0], s[1], s[2], s[3], s[4]} }

func shape(s kernels.Shape5) []int { return []int{s[0], s[1], s[2], s[3], s[4]} }

func equal(a, b []int) bool {
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

// Func is one layer operation: a pure function of its inputs, with the
// gradient with respect to each of them.
type Func interface {
	fmt.Stringer
	// InRanks is the rank of each input.
	InRanks() []int
	// OutShape checks the inputs' shapes and returns the output's.
	OutShape(in [][]int) ([]int, error)
	// Forward computes the output. Inputs must have passed OutShape.
	Forward(in []*Tensor) *Tensor
	// DiffWRT says which inputs have a gradient.
	DiffWRT() []bool
	// Backward returns the gradient with respect to input wrt, given the
	// inputs, the output and the gradient of the loss with respect to it.
	Backward(in []*Tensor, out, dout *Tensor, wrt int) *Tensor
}

// InPlace is implemented by Funcs whose output has the shape of their first
// input and can be written over it, for callers that no longer need that
// input (inference, where it halves the memory of a layer). The math is the
// Forward's own.
type InPlace interface {
	ForwardInPlace(in []*Tensor) *Tensor
}

// CallOver is Call, writing the output over in[0] when f can: the caller
// promises not to use in[0] again.
func CallOver(f Func, in ...*Tensor) (*Tensor, error) {
	ip, ok := f.(InPlace)
	if !ok {
		return Call(f, in...)
	}
	if err := checkCall(f, in); err != nil {
		return nil, err
	}
	return ip.ForwardInPlace(in), nil
}

func checkCall(f Func, in []*Tensor) error {
	if len(in) != len(f.InRanks()) {
		return fmt.Errorf("%v: %d inputs, want %d", f, len(in), len(f.InRanks()))
	}
	shapes := make([][]int, len(in))
	for i, t := range in {
		if len(t.Data) != Len(t.Shape) {
			return fmt.Errorf("%v: input %d has %d elements for shape %v", f, i, len(t.Data), t.Shape)
		}
		shapes[i] = t.Shape
	}
	_, err := f.OutShape(shapes)
	return err
}

// Call checks shapes and runs f forward.
func Call(f Func, in ...*Tensor) (*Tensor, error) {
	if err := checkCall(f, in); err != nil {
		return nil, err
	}
	return f.Forward(in), nil
}
