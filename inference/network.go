package inference

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"metascope/inference/kernels"
	"metascope/inference/nn"
)

// Layer is one conv layer's parameters: weights [cout,cin,k,k,k] and bias;
// for all but the output layer also batch norm (Gamma, Beta, running
// statistics) and the PReLU slopes.
type Layer struct {
	W, B        *nn.Tensor
	Gamma, Beta *nn.Tensor
	Alpha       *nn.Tensor
	BN          *nn.BNState
}

// Network is the two-pathway DeepMedic-style CNN:
//
//	input [N, InChannels, S, S, S], S = out + 2*Margin
//	normal pathway: centre crop, conv-BN-PReLU x len(Channels), residuals
//	low pathway: AvgPool(Factor), the same layers, Upsample(Factor)
//	concat, FC layers (1x1x1 conv-BN-PReLU, dropout in training),
//	1x1x1 conv, sigmoid: [N, 1, out, out, out] lesion probabilities.
//
// The low pathway averages Factor^3 blocks of the context window (DeepMedic
// samples every third voxel; the mean is the anti-aliased version of the
// same idea and costs nothing). Blocks are aligned to the input's corner,
// which is why output sizes and tile origins are multiples of Factor.
type Network struct {
	Config  Config
	Normal  []Layer
	Low     []Layer
	FC      []Layer
	Out     Layer
	Backend kernels.Backend
}

// Param names one tensor of the network, for weights files and optimisers.
type Param struct {
	Name string
	T    *nn.Tensor
	// Trainable is false for batch norm's running statistics, which training
	// forward passes update themselves.
	Trainable bool
}

// NewNetwork builds a network with He-initialised weights from seed.
func NewNetwork(cfg Config, seed uint64, be kernels.Backend) (*Network, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if be == nil {
		be = kernels.Default()
	}
	r := rand.New(rand.NewPCG(seed, 0x6d657461))
	n := &Network{Config: cfg, Backend: be}
	layer := func(cin, cout, k int, act bool) Layer {
		l := Layer{W: nn.New(cout, cin, k, k, k), B: nn.New(cout)}
		std := math.Sqrt(2 / float64(cin*k*k*k))
		for i := range l.W.Data {
			l.W.Data[i] = float32(r.NormFloat64() * std)
		}
		if act {
			l.Gamma, l.Beta, l.Alpha = nn.New(cout), nn.New(cout), nn.New(cout)
			for i := 0; i < cout; i++ {
				l.Gamma.Data[i], l.Alpha.Data[i] = 1, 0.25
			}
			l.BN = nn.NewBNState(cout)
		}
		return l
	}
	for _, path := range []*[]Layer{&n.Normal, &n.Low} {
		cin := cfg.InChannels
		for _, c := range cfg.Channels {
			*path = append(*path, layer(cin, c, cfg.Kernel, true))
			cin = c
		}
	}
	cin := 2 * cfg.Channels[len(cfg.Channels)-1]
	for _, c := range cfg.FC {
		n.FC = append(n.FC, layer(cin, c, 1, true))
		cin = c
	}
	n.Out = layer(cin, 1, 1, false)
	return n, nil
}

// foldBN returns the weights and bias of a convolution equal to l's
// convolution followed by its batch norm in eval mode (running statistics):
// y = (conv(x, W) + b - mean) * s + beta with s = gamma / sqrt(var + eps) is
// conv(x, W*s) + (b - mean)*s + beta. Inference then skips a pass over
// every layer's output; the results differ from the unfolded layer by float
// rounding only. eps is the float32 the BatchNorm3D op uses. The folded
// tensors are computed in float64 and rounded once; they are cheap (one
// multiply per weight), so Forward folds afresh on every call and a network
// whose weights change (training) never sees stale ones.
func (l Layer) foldBN(eps float32) (w, b *nn.Tensor) {
	w, b = nn.New(l.W.Shape...), nn.New(l.B.Shape...)
	cout := l.W.Shape[0]
	per := l.W.Len() / cout
	for o := 0; o < cout; o++ {
		g := float64(l.Gamma.Data[o])
		istd := 1 / math.Sqrt(float64(l.BN.Var[o])+float64(eps))
		s := g * istd
		for i, v := range l.W.Data[o*per : (o+1)*per] {
			w.Data[o*per+i] = float32(float64(v) * s)
		}
		b.Data[o] = float32((float64(l.B.Data[o])-float64(l.BN.Mean[o]))*s + float64(l.Beta.Data[o]))
	}
	return w, b
}

// Geometry is the network's geometry (see Config.Geometry).
func (n *Network) Geometry() Geometry { return n.Config.Geometry() }

// Params lists every tensor in a fixed order with stable names.
func (n *Network) Params() []Param {
	var ps []Param
	add := func(prefix string, l Layer) {
		ps = append(ps, Param{prefix + ".w", l.W, true}, Param{prefix + ".b", l.B, true})
		if l.BN != nil {
			ps = append(ps,
				Param{prefix + ".gamma", l.Gamma, true}, Param{prefix + ".beta", l.Beta, true},
				Param{prefix + ".alpha", l.Alpha, true},
				Param{prefix + ".bn_mean", &nn.Tensor{Shape: []int{len(l.BN.Mean)}, Data: l.BN.Mean}, false},
				Param{prefix + ".bn_var", &nn.Tensor{Shape: []int{len(l.BN.Var)}, Data: l.BN.Var}, false})
		}
	}
	for i, l := range n.Normal {
		add(fmt.Sprintf("normal.%d", i+1), l)
	}
	for i, l := range n.Low {
		add(fmt.Sprintf("low.%d", i+1), l)
	}
	for i, l := range n.FC {
		add(fmt.Sprintf("fc.%d", i+1), l)
	}
	add("out", n.Out)
	return ps
}

// builder abstracts over running the wiring directly on tensors and
// building it as a gorgonia graph.
type builder[T any] interface {
	apply(f nn.Func, in ...T) (T, error)
	// applyOver is apply where in[0] is not used again, so the builder may
	// write the output over it.
	applyOver(f nn.Func, in ...T) (T, error)
	param(t *nn.Tensor) T
	// convPReLU is conv followed by PReLU with slopes alpha, where the
	// builder may fuse the two (the result is the same bit for bit).
	convPReLU(conv nn.Conv3D, x, w, bias, alpha T) (T, error)
	// release says x is no longer used, so the builder may reuse its
	// memory.
	release(x T)
	shape(x T) []int
	// foldBN says whether eval-mode batch norm may be folded into the
	// weights of the convolution before it (see Layer.foldBN): true for
	// inference on tensors, false for graphs, whose parameter nodes must
	// stay the network's own tensors.
	foldBN() bool
}

// outputBlock checks an input shape xs [N, InChannels, D, H, W] and returns
// the spatial size of the output block it gives.
func (n *Network) outputBlock(xs []int) ([3]int, error) {
	var out [3]int
	if len(xs) != 5 || xs[1] != n.Config.InChannels {
		return out, fmt.Errorf("network input shape %v: want [N, %d, S, S, S]", xs, n.Config.InChannels)
	}
	geo := n.Geometry()
	for a := 0; a < 3; a++ {
		o, err := geo.OutputSize(xs[2+a])
		if err != nil {
			return out, fmt.Errorf("network input shape %v: %w", xs, err)
		}
		out[a] = o
	}
	return out, nil
}

// wire is the network's one definition. mask, when not nil, returns the
// dropout mask node for FC layer i with the given shape (training only).
func wire[T any](n *Network, b builder[T], x T, train bool, mask func(i int, shape []int) T) (T, error) {
	var zero T
	cfg, geo := n.Config, n.Geometry()
	out, err := n.outputBlock(b.shape(x))
	if err != nil {
		return zero, err
	}
	residual := map[int]bool{}
	for _, r := range cfg.Residual {
		residual[r] = true
	}
	block := func(l Layer, h T, k int) (T, error) {
		if !train && l.BN != nil && b.foldBN() {
			w, bias := l.foldBN(float32(cfg.BNEps))
			return b.convPReLU(nn.Conv3D{Backend: n.Backend, K: k}, h, b.param(w), b.param(bias), b.param(l.Alpha))
		}
		h, err := b.apply(nn.Conv3D{Backend: n.Backend, K: k}, h, b.param(l.W), b.param(l.B))
		if err != nil || l.BN == nil {
			return h, err
		}
		bn := nn.BatchNorm3D{State: l.BN, Train: train, Momentum: float32(cfg.BNMomentum), Eps: float32(cfg.BNEps)}
		if h, err = b.applyOver(bn, h, b.param(l.Gamma), b.param(l.Beta)); err != nil {
			return h, err
		}
		return b.applyOver(nn.PReLU{}, h, b.param(l.Alpha))
	}
	pathway := func(layers []Layer, h T) (T, error) {
		var hist []T
		for i, l := range layers {
			var err error
			if h, err = block(l, h, cfg.Kernel); err != nil {
				return h, fmt.Errorf("layer %d: %w", i+1, err)
			}
			if residual[i+1] {
				if h, err = b.applyOver(nn.CropAdd{}, h, hist[i-2]); err != nil {
					return h, fmt.Errorf("layer %d residual: %w", i+1, err)
				}
			}
			hist = append(hist, h)
			if i >= 2 {
				b.release(hist[i-2])
				hist[i-2] = zero // let the collector have it
			}
		}
		if len(hist) >= 2 {
			b.release(hist[len(hist)-2])
		}
		return h, nil
	}
	h := x
	// then applies f to v and releases v (a tensor of the network's own,
	// never x).
	then := func(v T, f func(T) (T, error)) (T, error) {
		r, err := f(v)
		if err == nil {
			b.release(v)
		}
		return r, err
	}
	if geo.Margin > geo.NormalMargin {
		d := 2 * geo.NormalMargin
		if h, err = b.apply(nn.Crop{Size: [3]int{out[0] + d, out[1] + d, out[2] + d}}, x); err != nil {
			return zero, err
		}
		h, err = then(h, func(h T) (T, error) { return pathway(n.Normal, h) })
	} else {
		h, err = pathway(n.Normal, h)
	}
	if err != nil {
		return zero, fmt.Errorf("normal pathway: %w", err)
	}
	f := cfg.Factor
	l, err := b.apply(nn.AvgPool{F: f}, x)
	if err != nil {
		return zero, err
	}
	if l, err = then(l, func(l T) (T, error) { return pathway(n.Low, l) }); err != nil {
		return zero, fmt.Errorf("low pathway: %w", err)
	}
	if ls := b.shape(l); ls[2] != out[0]/f {
		if l, err = then(l, func(l T) (T, error) { return b.apply(nn.Crop{Size: [3]int{out[0] / f, out[1] / f, out[2] / f}}, l) }); err != nil {
			return zero, err
		}
	}
	if l, err = then(l, func(l T) (T, error) { return b.apply(nn.Upsample{F: f}, l) }); err != nil {
		return zero, err
	}
	if h, err = then(h, func(h T) (T, error) { return b.apply(nn.Concat{}, h, l) }); err != nil {
		return zero, err
	}
	b.release(l)
	for i, fc := range n.FC {
		if h, err = then(h, func(h T) (T, error) { return block(fc, h, 1) }); err != nil {
			return zero, fmt.Errorf("fc %d: %w", i+1, err)
		}
		if train && mask != nil && cfg.Dropout > 0 {
			if h, err = b.applyOver(nn.Dropout{}, h, mask(i, b.shape(h))); err != nil {
				return zero, err
			}
		}
	}
	if h, err = then(h, func(h T) (T, error) { return block(n.Out, h, 1) }); err != nil {
		return zero, fmt.Errorf("output layer: %w", err)
	}
	return b.applyOver(nn.Sigmoid{}, h)
}

// direct runs the wiring on tensors. Its convolutions write into the
// memory of tensors the wiring has released, when it has one large enough:
// a fresh tensor costs zeroing and page faults (several percent of a
// prediction), and every element of a convolution's output is written
// anyway. With rows set, the full-resolution convolutions compute only the
// rows that the wanted output rows depend on (see ForwardRows).
type direct struct {
	free *[][]float32
	rows *rowWant
}

// buffers keeps the activation memory a forward pass released, for the
// next pass: a worker that predicts block after block then reuses the same
// pages instead of faulting in and zeroing fresh ones for every large
// layer (about 2 % of a prediction's CPU time). The zero value is empty;
// one buffers serves one pass at a time.
type buffers struct{ free [][]float32 }

// rowWant is what ForwardRows asks for: the rows of the output block
// (out = its spatial size, z, y, x) the caller reads, want[z*out[1]+y].
// Every full-resolution tensor of the wiring is centred on the output block
// with the same margin on all sides (valid convolutions, centred crops and
// residual sums keep that), so the rows a tensor of margin m must have are
// those within m of a wanted row: the wanted set dilated by m. The
// low-resolution pathway (low marks its tensors, from the AvgPool to the
// Upsample) is cheap and computed whole.
type rowWant struct {
	out  [3]int
	want []bool
	low  map[*nn.Tensor]bool
	// byMargin caches the dilated row sets by margin.
	byMargin map[int][]bool
}

// track records whether out, made by f from in, belongs to the
// low-resolution pathway.
func (d direct) track(f nn.Func, in []*nn.Tensor, out *nn.Tensor) {
	if d.rows == nil || out == nil {
		return
	}
	switch f.(type) {
	case nn.AvgPool:
		d.rows.low[out] = true
	case nn.Upsample:
	default:
		if d.rows.low[in[0]] {
			d.rows.low[out] = true
		}
	}
}

// wantFor returns the rows a full-resolution convolution output of shape
// ys must have, or nil for all of them (no row set, or a tensor that is not
// centred on the output block).
func (d direct) wantFor(x *nn.Tensor, ys []int) []bool {
	r := d.rows
	if r == nil || r.low[x] {
		return nil
	}
	m := (ys[2] - r.out[0]) / 2
	for a := 0; a < 3; a++ {
		if ys[2+a] != r.out[a]+2*m || m < 0 {
			return nil
		}
	}
	if w, ok := r.byMargin[m]; ok {
		return w
	}
	w := dilateRows(r.want, r.out[0], r.out[1], m)
	r.byMargin[m] = w
	return w
}

// dilateRows returns, for a Z x Y row set (want[z*Y+y]), the set of rows of
// the block grown by m on every side that lie within m rows (along z and
// y) of a wanted one: (Z+2m) x (Y+2m).
func dilateRows(want []bool, Z, Y, m int) []bool {
	Zm, Ym := Z+2*m, Y+2*m
	// Along y first, then along z: row (z, y) of the grown block is the
	// block's (z-m, y-m), its neighbours within m are [y-2m, y] there.
	alongY := make([]bool, Z*Ym)
	for z := 0; z < Z; z++ {
		for y := 0; y < Ym; y++ {
			for yy := max(0, y-2*m); yy <= min(Y-1, y); yy++ {
				if want[z*Y+yy] {
					alongY[z*Ym+y] = true
					break
				}
			}
		}
	}
	out := make([]bool, Zm*Ym)
	for z := 0; z < Zm; z++ {
		for y := 0; y < Ym; y++ {
			for zz := max(0, z-2*m); zz <= min(Z-1, z); zz++ {
				if alongY[zz*Ym+y] {
					out[z*Ym+y] = true
					break
				}
			}
		}
	}
	return out
}

// alloc returns a tensor of the shape, on the smallest released buffer
// that holds it (not cleared) or else new.
func (d direct) alloc(shape []int) *nn.Tensor {
	n := nn.Len(shape)
	best := -1
	if d.free != nil {
		for i, b := range *d.free {
			if cap(b) >= n && (best < 0 || cap(b) < cap((*d.free)[best])) {
				best = i
			}
		}
	}
	if best < 0 {
		// Layers grow in channels: what was released is too small for
		// them, and keeping it would only raise the peak memory.
		if d.free != nil {
			clear(*d.free)
			*d.free = (*d.free)[:0]
		}
		return nn.New(shape...)
	}
	b := (*d.free)[best]
	*d.free = append((*d.free)[:best], (*d.free)[best+1:]...)
	return &nn.Tensor{Shape: append([]int(nil), shape...), Data: b[:n]}
}

// release keeps x's memory for alloc, at most maxFree buffers (the
// largest): more would raise the peak memory for little gain.
func (d direct) release(x *nn.Tensor) {
	if d.free == nil || x == nil {
		return
	}
	f := append(*d.free, x.Data[:cap(x.Data)])
	if len(f) > maxFree {
		small := 0
		for i, b := range f {
			if cap(b) < cap(f[small]) {
				small = i
			}
		}
		f = append(f[:small], f[small+1:]...)
		f[len(f):][:1][0] = nil
	}
	*d.free = f
}

// maxFree is how many released buffers direct keeps.
const maxFree = 2

func (d direct) apply(f nn.Func, in ...*nn.Tensor) (*nn.Tensor, error) {
	out, err := nn.Call(f, in...)
	d.track(f, in, out)
	return out, err
}
func (d direct) applyOver(f nn.Func, in ...*nn.Tensor) (*nn.Tensor, error) {
	out, err := nn.CallOver(f, in...)
	d.track(f, in, out)
	return out, err
}
func (direct) param(t *nn.Tensor) *nn.Tensor { return t }

// convPReLU fuses the PReLU into the convolution's output stage when the
// backend can, sparing a pass over the layer's output.
func (d direct) convPReLU(conv nn.Conv3D, x, w, bias, alpha *nn.Tensor) (*nn.Tensor, error) {
	fused, ok := conv.Backend.(kernels.PReLUConv)
	if !ok {
		h, err := d.apply(conv, x, w, bias)
		if err != nil {
			return h, err
		}
		return d.applyOver(nn.PReLU{}, h, alpha)
	}
	ys, err := conv.OutShape([][]int{x.Shape, w.Shape, bias.Shape})
	if err != nil {
		return nil, err
	}
	if _, err := (nn.PReLU{}).OutShape([][]int{ys, alpha.Shape}); err != nil {
		return nil, err
	}
	y := d.alloc(ys)
	if rc, ok := conv.Backend.(kernels.RowConv); ok {
		rc.Conv3DRows(y.Data, x.Data, x.S5(), w.Data, w.Shape[0], conv.K, bias.Data, alpha.Data, d.wantFor(x, ys))
	} else {
		fused.Conv3DPReLU(y.Data, x.Data, x.S5(), w.Data, w.Shape[0], conv.K, bias.Data, alpha.Data)
	}
	d.track(conv, []*nn.Tensor{x}, y)
	return y, nil
}
func (direct) foldBN() bool             { return true }
func (direct) shape(x *nn.Tensor) []int { return x.Shape }

// Forward runs the network in eval mode on x [N, InChannels, S, S, S] and
// returns the probabilities [N, 1, S-2M, S-2M, S-2M].
func (n *Network) Forward(x *nn.Tensor) (*nn.Tensor, error) {
	return wire[*nn.Tensor](n, direct{free: new([][]float32)}, x, false, nil)
}

// ForwardRows is Forward for a caller that reads only some rows of the
// output: want[z*Y+y] for the output's Z x Y rows (z, y) (want nil: all).
// The wanted rows equal Forward's bit for bit; the others hold unspecified
// values. The full-resolution convolutions skip every row no wanted row
// depends on, when the backend can (kernels.RowConv): on a brain, whose
// outline leaves a tile's corners empty, that is a sixth of the work.
func (n *Network) ForwardRows(x *nn.Tensor, want []bool) (*nn.Tensor, error) {
	return n.forwardRows(x, want, &buffers{})
}

// forwardRows is ForwardRows taking its activation memory from buf and
// leaving what it releases there.
func (n *Network) forwardRows(x *nn.Tensor, want []bool, buf *buffers) (*nn.Tensor, error) {
	if want == nil {
		return wire[*nn.Tensor](n, direct{free: &buf.free}, x, false, nil)
	}
	out, err := n.outputBlock(x.Shape)
	if err != nil {
		return nil, err
	}
	if len(want) != out[0]*out[1] {
		return nil, fmt.Errorf("%d wanted rows for an output of %d x %d rows", len(want), out[0], out[1])
	}
	rows := &rowWant{out: out, want: want, low: map[*nn.Tensor]bool{}, byMargin: map[int][]bool{}}
	return wire[*nn.Tensor](n, direct{free: &buf.free, rows: rows}, x, false, nil)
}

// graphBuilder builds the wiring as a gorgonia graph; parameter nodes share
// their backing arrays with the Network, so a solver's in-place updates of
// node values are updates of the network.
type graphBuilder struct {
	g      *G.ExprGraph
	params map[*nn.Tensor]*G.Node
	names  map[*nn.Tensor]string
}

func (b *graphBuilder) apply(f nn.Func, in ...*G.Node) (*G.Node, error) { return nn.Apply(f, in...) }
func (b *graphBuilder) applyOver(f nn.Func, in ...*G.Node) (*G.Node, error) {
	return nn.Apply(f, in...)
}
func (b *graphBuilder) shape(x *G.Node) []int { return []int(x.Shape()) }
func (b *graphBuilder) release(*G.Node)       {}
func (b *graphBuilder) convPReLU(conv nn.Conv3D, x, w, bias, alpha *G.Node) (*G.Node, error) {
	h, err := nn.Apply(conv, x, w, bias)
	if err != nil {
		return h, err
	}
	return nn.Apply(nn.PReLU{}, h, alpha)
}
func (b *graphBuilder) foldBN() bool { return false }
func (b *graphBuilder) param(t *nn.Tensor) *G.Node {
	if p, ok := b.params[t]; ok {
		return p
	}
	v := tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(t.Data))
	p := G.NodeFromAny(b.g, v, G.WithName(b.names[t]))
	b.params[t] = p
	return p
}

// Graph is the network built into a gorgonia graph for training.
type Graph struct {
	// Prob is the output probability node [N, 1, out, out, out].
	Prob *G.Node
	// Params are the trainable parameter nodes, in Params() order (running
	// statistics excluded), with names as in Params.
	Params G.Nodes
	// Masks are the dropout mask inputs, one per FC layer, to be set with
	// G.Let before every run (see nn.DropoutMask); empty when not training
	// or when the dropout rate is 0.
	Masks G.Nodes
}

// Graph builds the network on input node x. With train, batch norm uses
// batch statistics and updates the running ones, and dropout masks are
// inputs.
func (n *Network) Graph(g *G.ExprGraph, x *G.Node, train bool) (*Graph, error) {
	b := &graphBuilder{g: g, params: map[*nn.Tensor]*G.Node{}, names: map[*nn.Tensor]string{}}
	for _, p := range n.Params() {
		b.names[p.T] = p.Name
	}
	out := &Graph{}
	mask := func(i int, shape []int) *G.Node {
		m := G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(fmt.Sprintf("dropout.%d", i+1)))
		out.Masks = append(out.Masks, m)
		return m
	}
	prob, err := wire[*G.Node](n, b, x, train, mask)
	if err != nil {
		return nil, err
	}
	out.Prob = prob
	for _, p := range n.Params() {
		if node, ok := b.params[p.T]; ok && p.Trainable {
			out.Params = append(out.Params, node)
		}
	}
	return out, nil
}

// FLOPs is the number of floating-point operations of the conv layers for
// one output block of size[0] x size[1] x size[2] voxels (multiples of
// Factor), the measure behind the GFLOP/s figures.
func (n *Network) FLOPs(size [3]int) float64 {
	cfg, geo := n.Config, n.Geometry()
	vox := func(s [3]int, d int) float64 { return float64((s[0] + d) * (s[1] + d) * (s[2] + d)) }
	var f float64
	conv := func(layers []Layer, s [3]int, d int) {
		for _, l := range layers {
			d -= cfg.Kernel - 1
			f += 2 * float64(l.W.Len()) * vox(s, d)
		}
	}
	conv(n.Normal, size, 2*geo.NormalMargin)
	f3 := cfg.Factor
	conv(n.Low, [3]int{size[0] / f3, size[1] / f3, size[2] / f3}, 2*geo.Margin/f3)
	for _, l := range append(append([]Layer(nil), n.FC...), n.Out) {
		f += 2 * float64(l.W.Len()) * vox(size, 0)
	}
	return f
}
