package inference

import (
	"errors"
	"fmt"

	"metascope/inference/nn"
)

// Tape is a training forward pass run directly on tensors (no graph
// machine), recording every op so that Backward can return the parameter
// gradients: the same wiring and the same op code as Forward and Graph, for
// a training loop that wants neither gorgonia's per-run allocations nor its
// thread locking.
//
// Memory: the tape keeps the convolutions' outputs (expensive to
// recompute) and drops the outputs of the cheap ops after them (batch
// norm, PReLU, residual sums, crops, pooling, upsampling, concatenation,
// dropout) as soon as the forward pass is done with them; Backward
// recomputes one when a backward step reads its values, from the kept
// tensors, and drops it again when no later step reads it. Batch norm
// replays with the batch statistics of the forward pass (nn.BNBatch), so a
// recomputed tensor has the bits of the original and the running
// statistics move once per step. Dropout masks are held packed, a bit per
// element. Backward also frees each kept output once no step below needs
// it, and computes gradients only for tensors that depend on a trainable
// parameter (never the network's input). For the study's network at batch
// 10 of 24^3 patches this takes the activations a step holds from 1.9 GB
// to 0.6 GB, at the cost of a few passes over memory per layer.
type Tape struct {
	net     *Network
	entries []tapeEntry
	// producer is the index of the entry whose output a tensor is.
	producer map[*nn.Tensor]int
	// masks: dropout masks the tape holds packed, under a tensor of their
	// shape without values, which Backward unpacks when it reads them.
	masks map[*nn.Tensor]nn.PackedMask
	out   *nn.Tensor
	// keepAll keeps every tensor and computes every gradient, as the tape
	// did before recomputation: the reference that tests compare with.
	keepAll bool
	// used: Backward has run and freed the activations.
	used bool
}

type tapeEntry struct {
	f   nn.Func
	in  []*nn.Tensor
	out *nn.Tensor
}

type tapeBuilder struct{ t *Tape }

// prepare gives a training batch norm a BNBatch to fill, so that replays
// and Backward reuse its batch statistics.
func (b tapeBuilder) prepare(f nn.Func) nn.Func {
	if bn, ok := f.(nn.BatchNorm3D); ok && bn.Train && !b.t.keepAll {
		bn.Batch = new(nn.BNBatch)
		return bn
	}
	return f
}

func (b tapeBuilder) record(f nn.Func, in []*nn.Tensor, out *nn.Tensor) {
	b.t.producer[out] = len(b.t.entries)
	b.t.entries = append(b.t.entries, tapeEntry{f: f, in: in, out: out})
}

func (b tapeBuilder) apply(f nn.Func, in ...*nn.Tensor) (*nn.Tensor, error) {
	f = b.prepare(f)
	out, err := nn.Call(f, in...)
	if err != nil {
		return out, err
	}
	if _, ok := f.(nn.Dropout); ok && !b.t.keepAll {
		// The mask as float32 is as large as the layer's output.
		if p, ok := nn.PackMask(in[1]); ok {
			m := &nn.Tensor{Shape: in[1].Shape}
			b.t.masks[m] = p
			in = []*nn.Tensor{in[0], m}
		}
	}
	b.record(f, in, out)
	return out, nil
}

// applyOver writes the output over in[0] when the tape may drop in[0]
// (the output of a cheap op, recomputed if Backward needs it); the
// convolutions' outputs, which the tape keeps, stay intact.
func (b tapeBuilder) applyOver(f nn.Func, in ...*nn.Tensor) (*nn.Tensor, error) {
	x := in[0]
	if !b.t.droppable(x) {
		return b.apply(f, in...)
	}
	for _, o := range in[1:] {
		if o == x {
			return b.apply(f, in...)
		}
	}
	f = b.prepare(f)
	// A new header for x's memory: the entry that produced x keeps x
	// itself, without data, to recompute it.
	args := append([]*nn.Tensor{{Shape: x.Shape, Data: x.Data}}, in[1:]...)
	out, err := nn.CallOver(f, args...)
	if err != nil {
		return out, err
	}
	b.record(f, in, out)
	x.Data = nil
	return out, nil
}

func (tapeBuilder) param(t *nn.Tensor) *nn.Tensor { return t }

// release drops x's values when the tape can recompute them.
func (b tapeBuilder) release(x *nn.Tensor) {
	if b.t.droppable(x) {
		x.Data = nil
	}
}

// convPReLU stays two entries: the tape keeps the convolution's output.
func (b tapeBuilder) convPReLU(conv nn.Conv3D, x, w, bias, alpha *nn.Tensor) (*nn.Tensor, error) {
	h, err := b.apply(conv, x, w, bias)
	if err != nil {
		return h, err
	}
	return b.applyOver(nn.PReLU{}, h, alpha)
}
func (tapeBuilder) shape(x *nn.Tensor) []int { return x.Shape }

// foldBN: Backward needs the network's own parameter tensors.
func (tapeBuilder) foldBN() bool { return false }

// recomputed says whether the tape drops the outputs of f and recomputes
// them: everything but convolutions, whose outputs it keeps, is one or two
// passes over memory.
func recomputed(f nn.Func) bool {
	_, conv := f.(nn.Conv3D)
	return !conv
}

// droppable says whether x is an output the tape may drop: one of a
// recomputed op, not the network's output. Inputs and parameters belong to
// the caller.
func (t *Tape) droppable(x *nn.Tensor) bool {
	if t.keepAll || x == t.out {
		return false
	}
	i, ok := t.producer[x]
	return ok && recomputed(t.entries[i].f)
}

// ForwardTrain runs the network in training mode on x [N, InChannels, S, S,
// S]: batch norm uses batch statistics and updates its running averages,
// and dropout after FC layer i multiplies by mask(i, shape) (see
// nn.DropoutMask; mask may be nil for no dropout).
func (n *Network) ForwardTrain(x *nn.Tensor, mask func(i int, shape []int) *nn.Tensor) (*Tape, error) {
	return n.forwardTrain(x, mask, false)
}

func (n *Network) forwardTrain(x *nn.Tensor, mask func(i int, shape []int) *nn.Tensor, keepAll bool) (*Tape, error) {
	t := &Tape{net: n, producer: map[*nn.Tensor]int{}, masks: map[*nn.Tensor]nn.PackedMask{}, keepAll: keepAll}
	out, err := wire[*nn.Tensor](n, tapeBuilder{t}, x, true, mask)
	if err != nil {
		return nil, err
	}
	t.out = out
	// What the wiring did not release (an FC layer's output before its
	// dropout) goes now.
	for _, e := range t.entries {
		if t.droppable(e.out) {
			e.out.Data = nil
		}
	}
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
// with TrainableParams. It frees the tape's activations as it goes, so it
// runs once per tape.
func (t *Tape) Backward(dout *nn.Tensor) ([]*nn.Tensor, error) {
	if len(dout.Data) != len(t.out.Data) {
		return nil, fmt.Errorf("output gradient has %d values for output shape %v", len(dout.Data), t.out.Shape)
	}
	if t.used {
		return nil, errors.New("tape: Backward ran already (it frees the activations)")
	}
	t.used = true
	params := t.net.TrainableParams()
	// need: the tensors whose gradient Backward computes. Only those that
	// depend on a trainable parameter: the gradient of the input, and so
	// the first convolutions' data gradients, would be thrown away.
	need := map[*nn.Tensor]bool{}
	for _, p := range params {
		need[p.T] = true
	}
	if t.keepAll {
		for _, e := range t.entries {
			need[e.out] = true
		}
	}
	wrts := make([][]int, len(t.entries))
	for i, e := range t.entries {
		for j, d := range e.f.DiffWRT() {
			if d && need[e.in[j]] {
				wrts[i] = append(wrts[i], j)
			}
		}
		if len(wrts[i]) > 0 {
			need[e.out] = true
		}
	}
	r := recompute{t: t, readers: map[*nn.Tensor][]int{}}
	// firstUse: the lowest entry that has a tensor as an input (and so may
	// replay from it).
	firstUse := map[*nn.Tensor]int{}
	for i := len(t.entries) - 1; i >= 0; i-- {
		e := t.entries[i]
		for _, x := range e.in {
			firstUse[x] = i
		}
		for _, j := range wrts[i] {
			rin, rout := nn.Reads(e.f, j)
			for k, rd := range rin {
				if rd {
					r.read(e.in[k], i)
				}
			}
			if rout {
				r.read(e.out, i)
			}
		}
	}
	grads := map[*nn.Tensor]*nn.Tensor{t.out: dout}
	for i := len(t.entries) - 1; i >= 0; i-- {
		e := t.entries[i]
		if g := grads[e.out]; g != nil {
			delete(grads, e.out) // the activation's gradient is no longer needed
			for _, j := range wrts[i] {
				rin, rout := nn.Reads(e.f, j)
				for k, rd := range rin {
					if rd {
						if err := r.materialise(e.in[k], i); err != nil {
							return nil, err
						}
					}
				}
				if rout {
					if err := r.materialise(e.out, i); err != nil {
						return nil, err
					}
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
		if t.keepAll {
			continue
		}
		// Drop what the next steps do not read: recomputed tensors (a
		// later replay recomputes them if need be), and kept ones when no
		// step below uses them at all. No step below replays this entry,
		// so it goes too, and with it the tape's hold on the dropout masks.
		r.drop(i)
		for _, x := range e.in {
			if _, ours := t.producer[x]; ours && firstUse[x] == i && x != t.out {
				x.Data = nil
			}
		}
		t.entries[i] = tapeEntry{}
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

// keepWindow is how many entries below the current one a recomputed
// tensor's next reader may be for Backward to keep it rather than drop it
// and recompute it later: one conv-BN-PReLU block, so that the batch norm
// output recomputed for the next convolution's weight gradient serves the
// PReLU's step right after, while a residual input is not held across the
// blocks in between (a layer's activation the whole time).
const keepWindow = 3

// recompute tracks, during Backward, the tensors recomputed so far.
type recompute struct {
	t *Tape
	// readers: the entries whose backward step reads a tensor's values,
	// highest first.
	readers map[*nn.Tensor][]int
	// live: recomputed tensors not dropped yet.
	live []*nn.Tensor
}

// read records that entry i's backward step reads x (called with i
// descending).
func (r *recompute) read(x *nn.Tensor, i int) {
	if rs := r.readers[x]; len(rs) == 0 || rs[len(rs)-1] != i {
		r.readers[x] = append(rs, i)
	}
}

// keep says whether a step within keepWindow below entry i reads x.
func (r *recompute) keep(x *nn.Tensor, i int) bool {
	for _, j := range r.readers[x] {
		if j < i {
			return j >= i-keepWindow
		}
	}
	return false
}

// drop drops, after entry i's step, the recomputed tensors that r.keep
// does not keep.
func (r *recompute) drop(i int) {
	k := 0
	for _, x := range r.live {
		if r.keep(x, i) {
			r.live[k] = x
			k++
		} else {
			x.Data = nil
		}
	}
	clear(r.live[k:])
	r.live = r.live[:k]
}

// materialise recomputes x's values for entry i's step, if the tape
// dropped them, by replaying the entry that produced x (and, first, those
// of its inputs whose values are gone). x stays until drop; inputs
// recomputed on the way go as soon as the replay has read them, unless
// r.keep keeps them.
func (r *recompute) materialise(x *nn.Tensor, i int) error {
	if x.Data != nil {
		return nil
	}
	if m, ok := r.t.masks[x]; ok {
		x.Data = m.Unpack().Data
		r.live = append(r.live, x)
		return nil
	}
	p, ok := r.t.producer[x]
	if !ok || p >= i {
		return fmt.Errorf("tape: a tensor of shape %v has no values and no producer below entry %d", x.Shape, i)
	}
	e := r.t.entries[p]
	var fresh []*nn.Tensor
	for _, in := range e.in {
		if in.Data == nil {
			if err := r.materialise(in, i); err != nil {
				return err
			}
			fresh = append(fresh, in)
		}
	}
	x.Data = e.f.Forward(e.in).Data
	for _, in := range fresh {
		if !r.keep(in, i) {
			in.Data = nil
		}
	}
	r.live = append(r.live, x)
	return nil
}
