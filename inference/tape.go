package inference

import (
	"fmt"

	"metascope/inference/nn"
)

// Tape is a training forward pass run directly on tensors (no graph
// machine), recording every op so that Backward can return the parameter
// gradients: the same wiring and the same op code as Forward and Graph, for
// a training loop that wants neither gorgonia's per-run allocations nor its
// thread locking. Memory is that of the activations.
type Tape struct {
	net     *Network
	entries []tapeEntry
	out     *nn.Tensor
}

type tapeEntry struct {
	f   nn.Func
	in  []*nn.Tensor
	out *nn.Tensor
}

type tapeBuilder struct{ t *Tape }

func (b tapeBuilder) apply(f nn.Func, in ...*nn.Tensor) (*nn.Tensor, error) {
	out, err := nn.Call(f, in...)
	if err == nil {
		b.t.entries = append(b.t.entries, tapeEntry{f: f, in: in, out: out})
	}
	return out, err
}

// applyOver keeps inputs intact: backward needs them.
func (b tapeBuilder) applyOver(f nn.Func, in ...*nn.Tensor) (*nn.Tensor, error) {
	return b.apply(f, in...)
}
func (tapeBuilder) param(t *nn.Tensor) *nn.Tensor { return t }

// release keeps everything: backward needs it.
func (tapeBuilder) release(*nn.Tensor) {}

// convPReLU stays two entries: backward needs the convolution's output.
func (b tapeBuilder) convPReLU(conv nn.Conv3D, x, w, bias, alpha *nn.Tensor) (*nn.Tensor, error) {
	h, err := b.apply(conv, x, w, bias)
	if err != nil {
		return h, err
	}
	return b.apply(nn.PReLU{}, h, alpha)
}
func (tapeBuilder) shape(x *nn.Tensor) []int { return x.Shape }

// foldBN: Backward needs the network's own parameter tensors.
func (tapeBuilder) foldBN() bool { return false }

// ForwardTrain runs the network in training mode on x [N, InChannels, S, S,
// S]: batch norm uses batch statistics and updates its running averages,
// and dropout after FC layer i multiplies by mask(i, shape) (see
// nn.DropoutMask; mask may be nil for no dropout).
func (n *Network) ForwardTrain(x *nn.Tensor, mask func(i int, shape []int) *nn.Tensor) (*Tape, error) {
	t := &Tape{net: n}
	out, err := wire[*nn.Tensor](n, tapeBuilder{t}, x, true, mask)
	if err != nil {
		return nil, err
	}
	t.out = out
	return t, nil
}

// Output is the probability map [N, 1, out, out, out].
func (t *Tape) Output() *nn.Tensor { return t.out }

// TrainableParams are the parameters an optimiser updates, in Params order.
func (n *Network) TrainableParams() []Param {
	var ps []Param
	for _, p := range n.Params() {
		if p.Trainable {
			ps = append(ps, p)
		}
	}
	return ps
}

// Backward returns, for dout the gradient of the loss with respect to
// Output, the gradient with respect to every trainable parameter, aligned
// with TrainableParams.
func (t *Tape) Backward(dout *nn.Tensor) ([]*nn.Tensor, error) {
	if len(dout.Data) != len(t.out.Data) {
		return nil, fmt.Errorf("output gradient has %d values for output shape %v", len(dout.Data), t.out.Shape)
	}
	params := t.net.TrainableParams()
	need := map[*nn.Tensor]bool{}
	for _, p := range params {
		need[p.T] = true
	}
	for _, e := range t.entries {
		need[e.out] = true
	}
	grads := map[*nn.Tensor]*nn.Tensor{t.out: dout}
	for i := len(t.entries) - 1; i >= 0; i-- {
		e := t.entries[i]
		g := grads[e.out]
		if g == nil {
			continue
		}
		delete(grads, e.out) // the activation's gradient is no longer needed
		for j, d := range e.f.DiffWRT() {
			if !d || !need[e.in[j]] {
				continue
			}
			gj := e.f.Backward(e.in, e.out, g, j)
			if acc := grads[e.in[j]]; acc != nil {
				for k, v := range gj.Data {
					acc.Data[k] += v
				}
			} else {
				grads[e.in[j]] = gj
			}
		}
	}
	out := make([]*nn.Tensor, len(params))
	for i, p := range params {
		if g := grads[p.T]; g != nil {
			out[i] = g
		} else {
			out[i] = nn.New(p.T.Shape...)
		}
	}
	return out, nil
}
