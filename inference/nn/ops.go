package nn

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"metascope/inference/kernels"
)

func rankCheck(f Func, in [][]int) error {
	r := f.InRanks()
	if len(in) != len(r) {
		return fmt.Errorf("%v: %d inputs, want %d", f, len(in), len(r))
	}
	for i := range in {
		if len(in[i]) != r[i] {
			return fmt.Errorf("%v: input %d has shape %v, want rank %d", f, i, in[i], r[i])
		}
		for _, d := range in[i] {
			if d <= 0 {
				return fmt.Errorf("%v: input %d has shape %v", f, i, in[i])
			}
		}
	}
	return nil
}

func mustShape(f Func, in []*Tensor) []int {
	shapes := make([][]int, len(in))
	for i, t := range in {
		shapes[i] = t.Shape
	}
	s, err := f.OutShape(shapes)
	if err != nil {
		panic(err)
	}
	return s
}

// ---- Conv3D ----

// Conv3D is a valid (unpadded) 3D convolution with stride 1 and bias:
// inputs x [N,Cin,D,H,W], w [Cout,Cin,K,K,K], b [Cout].
type Conv3D struct {
	Backend kernels.Backend
	K       int
}

func (f Conv3D) String() string { return fmt.Sprintf("Conv3D(k=%d)", f.K) }
func (Conv3D) InRanks() []int   { return []int{5, 5, 1} }
func (Conv3D) DiffWRT() []bool  { return []bool{true, true, true} }
func (f Conv3D) OutShape(in [][]int) ([]int, error) {
	if err := rankCheck(f, in); err != nil {
		return nil, err
	}
	x, w, b := in[0], in[1], in[2]
	if w[1] != x[1] || w[2] != f.K || w[3] != f.K || w[4] != f.K || b[0] != w[0] {
		return nil, fmt.Errorf("%v: input %v, weights %v, bias %v do not fit", f, x, w, b)
	}
	if x[2] < f.K || x[3] < f.K || x[4] < f.K {
		return nil, fmt.Errorf("%v: input %v smaller than the kernel", f, x)
	}
	return shape(kernels.ConvOut(s5(x), w[0], f.K)), nil
}
func (f Conv3D) Forward(in []*Tensor) *Tensor {
	y := New(mustShape(f, in)...)
	f.Backend.Conv3D(y.Data, in[0].Data, in[0].S5(), in[1].Data, in[1].Shape[0], f.K, in[2].Data)
	return y
}
func (f Conv3D) Backward(in []*Tensor, _, dout *Tensor, wrt int) *Tensor {
	x, w := in[0], in[1]
	cout := w.Shape[0]
	switch wrt {
	case 0:
		dx := New(x.Shape...)
		f.Backend.Conv3DBackwardData(dx.Data, x.S5(), dout.Data, w.Data, cout, f.K)
		return dx
	case 1:
		dw := New(w.Shape...)
		f.Backend.Conv3DBackwardFilter(dw.Data, nil, x.Data, x.S5(), dout.Data, cout, f.K)
		return dw
	default:
		db := New(cout)
		forChannels(dout.S5(), func(c int, lo, hi int) {
			var s float64
			for _, v := range dout.Data[lo:hi] {
				s += float64(v)
			}
			db.Data[c] += float32(s)
		})
		return db
	}
}

// forChannels calls f for every (sample, channel) block of a rank-5 shape,
// with the channel and the block's element range. Large tensors are split
// by channel over goroutines, so f may touch state of channel c only
// (which every caller here does: per-channel sums, disjoint outputs).
func forChannels(s kernels.Shape5, f func(c, lo, hi int)) {
	sp := s.Spatial()
	perChannel := func(c int) {
		for n := 0; n < s[0]; n++ {
			lo := (n*s[1] + c) * sp
			f(c, lo, lo+sp)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), s[1])
	if s.Len() < 1<<16 || workers < 2 {
		for c := 0; c < s[1]; c++ {
			perChannel(c)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for c := w; c < s[1]; c += workers {
				perChannel(c)
			}
		}(w)
	}
	wg.Wait()
}

// perChannel checks x [N,C,...] against per-channel parameters of length C.
func perChannel(f Func, in [][]int) ([]int, error) {
	if err := rankCheck(f, in); err != nil {
		return nil, err
	}
	for i := 1; i < len(in); i++ {
		if in[i][0] != in[0][1] {
			return nil, fmt.Errorf("%v: input %v has %d channels, parameter %d has %d", f, in[0], in[0][1], i, in[i][0])
		}
	}
	return append([]int(nil), in[0]...), nil
}

// ---- PReLU ----

// PReLU is the parametric rectifier with one slope per channel:
// y = x for x > 0, a[c]*x otherwise. Inputs x [N,C,D,H,W], a [C].
type PReLU struct{}

func (PReLU) String() string                       { return "PReLU" }
func (PReLU) InRanks() []int                       { return []int{5, 1} }
func (PReLU) DiffWRT() []bool                      { return []bool{true, true} }
func (f PReLU) OutShape(in [][]int) ([]int, error) { return perChannel(f, in) }
func (f PReLU) Forward(in []*Tensor) *Tensor       { return f.into(New(mustShape(f, in)...), in) }

// ForwardInPlace implements InPlace.
func (f PReLU) ForwardInPlace(in []*Tensor) *Tensor { mustShape(f, in); return f.into(in[0], in) }

func (f PReLU) into(y *Tensor, in []*Tensor) *Tensor {
	x, a := in[0], in[1]
	forChannels(x.S5(), func(c, lo, hi int) {
		s := a.Data[c]
		dst := y.Data[lo:hi]
		for i, v := range x.Data[lo:hi] {
			// Branch-free (the sign of activations is unpredictable): the
			// sign bit picks the factor 1 or s, exactly.
			neg := float32(math.Float32bits(v) >> 31)
			dst[i] = v * ((1 - neg) + neg*s)
		}
	})
	return y
}
func (f PReLU) Backward(in []*Tensor, _, dout *Tensor, wrt int) *Tensor {
	x, a := in[0], in[1]
	if wrt == 0 {
		dx := New(x.Shape...)
		forChannels(x.S5(), func(c, lo, hi int) {
			s := a.Data[c]
			for i, v := range x.Data[lo:hi] {
				g := dout.Data[lo+i]
				if v <= 0 {
					g *= s
				}
				dx.Data[lo+i] = g
			}
		})
		return dx
	}
	da := New(a.Shape...)
	forChannels(x.S5(), func(c, lo, hi int) {
		var s float64
		for i, v := range x.Data[lo:hi] {
			if v <= 0 {
				s += float64(v) * float64(dout.Data[lo+i])
			}
		}
		da.Data[c] += float32(s)
	})
	return da
}

// ---- BatchNorm3D ----

// BNState is a batch norm layer's running statistics, updated by training
// forward passes and used in eval mode.
type BNState struct {
	Mean, Var []float32
}

// NewBNState starts the running statistics at mean 0, variance 1.
func NewBNState(c int) *BNState {
	s := &BNState{Mean: make([]float32, c), Var: make([]float32, c)}
	for i := range s.Var {
		s.Var[i] = 1
	}
	return s
}

// BatchNorm3D normalises each channel of x [N,C,D,H,W], then scales by
// gamma [C] and shifts by beta [C]. In training mode it uses the batch's
// statistics (biased variance) and moves the running averages by Momentum
// (unbiased variance, as PyTorch does); in eval mode it uses the running
// statistics, and its gradient is that of the fixed affine map they define.
type BatchNorm3D struct {
	State    *BNState
	Train    bool
	Momentum float32 // weight of the new batch in the running averages
	Eps      float32
	// Batch, when not nil in training mode, keeps the batch statistics for
	// callers that recompute activations instead of keeping them (the
	// training tape). While it is empty, Forward computes the statistics,
	// stores them in it and updates the running averages, as without it.
	// Once filled, Forward and Backward use it as is: a replay of that
	// forward pass, bit for bit, that leaves the running averages alone
	// (they must move once per step) and skips two passes over x.
	Batch *BNBatch
}

// BNBatch is one training batch's per-channel statistics, as BatchNorm3D
// computes them: the mean and 1/sqrt(biased variance + eps).
type BNBatch struct {
	Mean, IStd []float64
}

// replay says whether f reuses saved batch statistics (see Batch).
func (f BatchNorm3D) replay() bool { return f.Train && f.Batch != nil && f.Batch.Mean != nil }

func (f BatchNorm3D) String() string {
	return fmt.Sprintf("BatchNorm3D(train=%v, %p)", f.Train, f.State)
}
func (BatchNorm3D) InRanks() []int  { return []int{5, 1, 1} }
func (BatchNorm3D) DiffWRT() []bool { return []bool{true, true, true} }
func (f BatchNorm3D) OutShape(in [][]int) ([]int, error) {
	s, err := perChannel(f, in)
	if err == nil && (len(f.State.Mean) != in[0][1] || len(f.State.Var) != in[0][1]) {
		err = fmt.Errorf("%v: running statistics for %d channels, input has %d", f, len(f.State.Mean), in[0][1])
	}
	return s, err
}

// stats returns per-channel mean and 1/sqrt(var+eps) of the batch (train)
// or of the running statistics (eval), and the batch variance.
func (f BatchNorm3D) stats(x *Tensor) (mean, istd, bvar []float64) {
	C := x.Shape[1]
	mean, istd = make([]float64, C), make([]float64, C)
	if f.replay() {
		return f.Batch.Mean, f.Batch.IStd, nil
	}
	if !f.Train {
		for c := 0; c < C; c++ {
			mean[c] = float64(f.State.Mean[c])
			istd[c] = 1 / math.Sqrt(float64(f.State.Var[c])+float64(f.Eps))
		}
		return mean, istd, nil
	}
	bvar = make([]float64, C)
	cnt := make([]float64, C)
	forChannels(x.S5(), func(c, lo, hi int) {
		var s float64
		for _, v := range x.Data[lo:hi] {
			s += float64(v)
		}
		mean[c] += s
		cnt[c] += float64(hi - lo)
	})
	for c := range mean {
		mean[c] /= cnt[c]
	}
	forChannels(x.S5(), func(c, lo, hi int) {
		var s float64
		m := mean[c]
		for _, v := range x.Data[lo:hi] {
			d := float64(v) - m
			s += d * d
		}
		bvar[c] += s
	})
	for c := range bvar {
		bvar[c] /= cnt[c]
		istd[c] = 1 / math.Sqrt(bvar[c]+float64(f.Eps))
	}
	return mean, istd, bvar
}

func (f BatchNorm3D) Forward(in []*Tensor) *Tensor { return f.into(New(mustShape(f, in)...), in) }

// ForwardInPlace implements InPlace.
func (f BatchNorm3D) ForwardInPlace(in []*Tensor) *Tensor { mustShape(f, in); return f.into(in[0], in) }

func (f BatchNorm3D) into(y *Tensor, in []*Tensor) *Tensor {
	x, g, b := in[0], in[1], in[2]
	mean, istd, bvar := f.stats(x)
	forChannels(x.S5(), func(c, lo, hi int) {
		sc := float32(float64(g.Data[c]) * istd[c])
		sh := float32(float64(b.Data[c]) - mean[c]*float64(g.Data[c])*istd[c])
		for i, v := range x.Data[lo:hi] {
			y.Data[lo+i] = v*sc + sh
		}
	})
	if f.Train && bvar != nil {
		if f.Batch != nil {
			f.Batch.Mean, f.Batch.IStd = mean, istd
		}
		m := x.Len() / x.Shape[1]
		unb := float64(m) / math.Max(float64(m-1), 1)
		for c := range mean {
			f.State.Mean[c] = (1-f.Momentum)*f.State.Mean[c] + f.Momentum*float32(mean[c])
			f.State.Var[c] = (1-f.Momentum)*f.State.Var[c] + f.Momentum*float32(bvar[c]*unb)
		}
	}
	return y
}

func (f BatchNorm3D) Backward(in []*Tensor, _, dout *Tensor, wrt int) *Tensor {
	x, g := in[0], in[1]
	C := x.Shape[1]
	mean, istd, _ := f.stats(x)
	sumDy, sumDyXhat := make([]float64, C), make([]float64, C)
	forChannels(x.S5(), func(c, lo, hi int) {
		var s, sx float64
		for i, v := range x.Data[lo:hi] {
			d := float64(dout.Data[lo+i])
			s += d
			sx += d * (float64(v) - mean[c]) * istd[c]
		}
		sumDy[c] += s
		sumDyXhat[c] += sx
	})
	switch wrt {
	case 1:
		return &Tensor{Shape: []int{C}, Data: f32(sumDyXhat)}
	case 2:
		return &Tensor{Shape: []int{C}, Data: f32(sumDy)}
	}
	dx := New(x.Shape...)
	m := float64(x.Len() / C)
	forChannels(x.S5(), func(c, lo, hi int) {
		k := float64(g.Data[c]) * istd[c]
		if !f.Train {
			for i := lo; i < hi; i++ {
				dx.Data[i] = float32(float64(dout.Data[i]) * k)
			}
			return
		}
		a, b := sumDy[c]/m, sumDyXhat[c]/m
		for i := lo; i < hi; i++ {
			xh := (float64(x.Data[i]) - mean[c]) * istd[c]
			dx.Data[i] = float32(k * (float64(dout.Data[i]) - a - xh*b))
		}
	})
	return dx
}

func f32(s []float64) []float32 {
	o := make([]float32, len(s))
	for i, v := range s {
		o[i] = float32(v)
	}
	return o
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// ---- AvgPool (downsampling for the low-resolution pathway) ----

// AvgPool averages non-overlapping F^3 blocks: [N,C,D,H,W] to
// [N,C,D/F,H/F,W/F]; D, H, W must be multiples of F.
type AvgPool struct{ F int }

func (f AvgPool) String() string { return fmt.Sprintf("AvgPool(%d)", f.F) }
func (AvgPool) InRanks() []int   { return []int{5} }
func (AvgPool) DiffWRT() []bool  { return []bool{true} }
func (f AvgPool) OutShape(in [][]int) ([]int, error) {
	if err := rankCheck(f, in); err != nil {
		return nil, err
	}
	x := in[0]
	if x[2]%f.F != 0 || x[3]%f.F != 0 || x[4]%f.F != 0 {
		return nil, fmt.Errorf("%v: spatial size %v not a multiple of %d", f, x[2:], f.F)
	}
	return []int{x[0], x[1], x[2] / f.F, x[3] / f.F, x[4] / f.F}, nil
}

// blocks calls fn(i, o) for every input element i and the output element o
// its block maps to.
func blocks(xs kernels.Shape5, F int, fn func(i, o int)) {
	D, H, W := xs[2], xs[3], xs[4]
	d, h, w := D/F, H/F, W/F
	for nc := 0; nc < xs[0]*xs[1]; nc++ {
		for z := 0; z < D; z++ {
			for y := 0; y < H; y++ {
				ib := ((nc*D+z)*H + y) * W
				ob := ((nc*d+z/F)*h + y/F) * w
				for x := 0; x < W; x++ {
					fn(ib+x, ob+x/F)
				}
			}
		}
	}
}

func (f AvgPool) Forward(in []*Tensor) *Tensor {
	y := New(mustShape(f, in)...)
	x := in[0].Data
	blocks(in[0].S5(), f.F, func(i, o int) { y.Data[o] += x[i] })
	s := 1 / float32(f.F*f.F*f.F)
	for i := range y.Data {
		y.Data[i] *= s
	}
	return y
}
func (f AvgPool) Backward(in []*Tensor, _, dout *Tensor, _ int) *Tensor {
	dx := New(in[0].Shape...)
	s := 1 / float32(f.F*f.F*f.F)
	blocks(in[0].S5(), f.F, func(i, o int) { dx.Data[i] = dout.Data[o] * s })
	return dx
}

// ---- Upsample (nearest, by repetition) ----

// Upsample repeats every voxel F times along each spatial axis.
type Upsample struct{ F int }

func (f Upsample) String() string { return fmt.Sprintf("Upsample(%d)", f.F) }
func (Upsample) InRanks() []int   { return []int{5} }
func (Upsample) DiffWRT() []bool  { return []bool{true} }
func (f Upsample) OutShape(in [][]int) ([]int, error) {
	if err := rankCheck(f, in); err != nil {
		return nil, err
	}
	x := in[0]
	return []int{x[0], x[1], x[2] * f.F, x[3] * f.F, x[4] * f.F}, nil
}
func (f Upsample) Forward(in []*Tensor) *Tensor {
	y := New(mustShape(f, in)...)
	x := in[0].Data
	blocks(y.S5(), f.F, func(i, o int) { y.Data[i] = x[o] })
	return y
}
func (f Upsample) Backward(in []*Tensor, out, dout *Tensor, _ int) *Tensor {
	dx := New(in[0].Shape...)
	blocks(out.S5(), f.F, func(i, o int) { dx.Data[o] += dout.Data[i] })
	return dx
}

// ---- Crop, CropAdd, Concat ----

// centre returns the offsets of a centred crop of size to from size from.
func centre(from, to []int) ([3]int, error) {
	var o [3]int
	for a := 0; a < 3; a++ {
		d := from[2+a] - to[2+a]
		if d < 0 || d%2 != 0 {
			return o, fmt.Errorf("cannot centre %v in %v", to[2:], from[2:])
		}
		o[a] = d / 2
	}
	return o, nil
}

// copyCrop copies (or, with add, adds) channels [0, nc) of the centred crop
// of src (shape ss) into dst (shape ds); with back, it goes the other way:
// dst's region of src is written from dst.
func copyCrop(dst []float32, ds []int, src []float32, ss []int, nc int, add, back bool) {
	o, err := centre(ss, ds)
	if err != nil {
		panic(err)
	}
	for n := 0; n < ds[0]; n++ {
		for c := 0; c < nc; c++ {
			for z := 0; z < ds[2]; z++ {
				for y := 0; y < ds[3]; y++ {
					d := dst[(((n*ds[1]+c)*ds[2]+z)*ds[3]+y)*ds[4]:][:ds[4]]
					s := src[(((n*ss[1]+c)*ss[2]+z+o[0])*ss[3]+y+o[1])*ss[4]+o[2]:][:ds[4]]
					switch {
					case back:
						copy(s, d)
					case add:
						for i := range d {
							d[i] += s[i]
						}
					default:
						copy(d, s)
					}
				}
			}
		}
	}
}

// Crop takes the centred block of size Size from every channel.
type Crop struct{ Size [3]int }

func (f Crop) String() string { return fmt.Sprintf("Crop(%v)", f.Size) }
func (Crop) InRanks() []int   { return []int{5} }
func (Crop) DiffWRT() []bool  { return []bool{true} }
func (f Crop) OutShape(in [][]int) ([]int, error) {
	if err := rankCheck(f, in); err != nil {
		return nil, err
	}
	s := []int{in[0][0], in[0][1], f.Size[0], f.Size[1], f.Size[2]}
	if _, err := centre(in[0], s); err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	return s, nil
}
func (f Crop) Forward(in []*Tensor) *Tensor {
	y := New(mustShape(f, in)...)
	copyCrop(y.Data, y.Shape, in[0].Data, in[0].Shape, y.Shape[1], false, false)
	return y
}
func (f Crop) Backward(in []*Tensor, out, dout *Tensor, _ int) *Tensor {
	dx := New(in[0].Shape...)
	copyCrop(dout.Data, dout.Shape, dx.Data, dx.Shape, dout.Shape[1], false, true)
	return dx
}

// CropAdd is DeepMedic's residual connection: y = a + the centred crop of
// the skip input b, on the channels both have (a's extra channels pass
// through, b's extra channels are dropped).
type CropAdd struct{}

func (CropAdd) String() string  { return "CropAdd" }
func (CropAdd) InRanks() []int  { return []int{5, 5} }
func (CropAdd) DiffWRT() []bool { return []bool{true, true} }
func (f CropAdd) OutShape(in [][]int) ([]int, error) {
	if err := rankCheck(f, in); err != nil {
		return nil, err
	}
	if in[0][0] != in[1][0] {
		return nil, fmt.Errorf("%v: batch %d and %d differ", f, in[0][0], in[1][0])
	}
	if _, err := centre(in[1], in[0]); err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	return append([]int(nil), in[0]...), nil
}
func (f CropAdd) Forward(in []*Tensor) *Tensor {
	mustShape(f, in)
	return f.into(&Tensor{Shape: append([]int(nil), in[0].Shape...), Data: append([]float32(nil), in[0].Data...)}, in)
}

// ForwardInPlace implements InPlace.
func (f CropAdd) ForwardInPlace(in []*Tensor) *Tensor { mustShape(f, in); return f.into(in[0], in) }

func (f CropAdd) into(y *Tensor, in []*Tensor) *Tensor {
	copyCrop(y.Data, y.Shape, in[1].Data, in[1].Shape, min(in[0].Shape[1], in[1].Shape[1]), true, false)
	return y
}
func (f CropAdd) Backward(in []*Tensor, _, dout *Tensor, wrt int) *Tensor {
	if wrt == 0 {
		return &Tensor{Shape: append([]int(nil), dout.Shape...), Data: append([]float32(nil), dout.Data...)}
	}
	db := New(in[1].Shape...)
	copyCrop(dout.Data, dout.Shape, db.Data, db.Shape, min(in[0].Shape[1], in[1].Shape[1]), false, true)
	return db
}

// Concat joins a and b along the channel axis.
type Concat struct{}

func (Concat) String() string  { return "Concat" }
func (Concat) InRanks() []int  { return []int{5, 5} }
func (Concat) DiffWRT() []bool { return []bool{true, true} }
func (f Concat) OutShape(in [][]int) ([]int, error) {
	if err := rankCheck(f, in); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if a[0] != b[0] || !equal(a[2:], b[2:]) {
		return nil, fmt.Errorf("%v: shapes %v and %v differ outside the channels", f, a, b)
	}
	return []int{a[0], a[1] + b[1], a[2], a[3], a[4]}, nil
}
func (f Concat) Forward(in []*Tensor) *Tensor {
	y := New(mustShape(f, in)...)
	a, b := in[0], in[1]
	na, nb := a.Len()/a.Shape[0], b.Len()/b.Shape[0]
	for n := 0; n < a.Shape[0]; n++ {
		copy(y.Data[n*(na+nb):], a.Data[n*na:(n+1)*na])
		copy(y.Data[n*(na+nb)+na:], b.Data[n*nb:(n+1)*nb])
	}
	return y
}
func (f Concat) Backward(in []*Tensor, _, dout *Tensor, wrt int) *Tensor {
	// Shapes only (see BackwardReads): the caller may have dropped the
	// inputs' values.
	a, b := in[0].Shape, in[1].Shape
	na, nb := Len(a)/a[0], Len(b)/b[0]
	d := New(in[wrt].Shape...)
	for n := 0; n < a[0]; n++ {
		if wrt == 0 {
			copy(d.Data[n*na:(n+1)*na], dout.Data[n*(na+nb):])
		} else {
			copy(d.Data[n*nb:(n+1)*nb], dout.Data[n*(na+nb)+na:])
		}
	}
	return d
}

// ---- Sigmoid, Dropout ----

// Sigmoid is the logistic function, elementwise.
type Sigmoid struct{}

func (Sigmoid) String() string  { return "Sigmoid" }
func (Sigmoid) InRanks() []int  { return []int{5} }
func (Sigmoid) DiffWRT() []bool { return []bool{true} }
func (f Sigmoid) OutShape(in [][]int) ([]int, error) {
	if err := rankCheck(f, in); err != nil {
		return nil, err
	}
	return append([]int(nil), in[0]...), nil
}
func (f Sigmoid) Forward(in []*Tensor) *Tensor { return f.into(New(mustShape(f, in)...), in) }

// ForwardInPlace implements InPlace.
func (f Sigmoid) ForwardInPlace(in []*Tensor) *Tensor { mustShape(f, in); return f.into(in[0], in) }

func (f Sigmoid) into(y *Tensor, in []*Tensor) *Tensor {
	for i, v := range in[0].Data {
		y.Data[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return y
}
func (Sigmoid) Backward(_ []*Tensor, out, dout *Tensor, _ int) *Tensor {
	dx := New(out.Shape...)
	for i, y := range out.Data {
		dx.Data[i] = dout.Data[i] * y * (1 - y)
	}
	return dx
}

// Dropout multiplies x by a mask of the same shape, made by DropoutMask for
// each training step (0, or 1/keep). Taking the mask as an input keeps the
// op a pure function, so forward and backward agree by construction; at
// inference the layer is left out.
type Dropout struct{}

func (Dropout) String() string  { return "Dropout" }
func (Dropout) InRanks() []int  { return []int{5, 5} }
func (Dropout) DiffWRT() []bool { return []bool{true, false} }
func (f Dropout) OutShape(in [][]int) ([]int, error) {
	if err := rankCheck(f, in); err != nil {
		return nil, err
	}
	if !equal(in[0], in[1]) {
		return nil, fmt.Errorf("%v: mask %v for input %v", f, in[1], in[0])
	}
	return append([]int(nil), in[0]...), nil
}
func (f Dropout) Forward(in []*Tensor) *Tensor { return f.into(New(mustShape(f, in)...), in) }

// ForwardInPlace implements InPlace.
func (f Dropout) ForwardInPlace(in []*Tensor) *Tensor { mustShape(f, in); return f.into(in[0], in) }

func (f Dropout) into(y *Tensor, in []*Tensor) *Tensor {
	for i, v := range in[0].Data {
		y.Data[i] = v * in[1].Data[i]
	}
	return y
}
func (Dropout) Backward(in []*Tensor, _, dout *Tensor, _ int) *Tensor {
	dx := New(dout.Shape...)
	for i, g := range dout.Data {
		dx.Data[i] = g * in[1].Data[i]
	}
	return dx
}

// DropoutMask fills a mask for Dropout: each element is 0 with probability
// rate, else 1/(1-rate). uniform returns numbers in [0, 1).
func DropoutMask(shape []int, rate float64, uniform func() float64) *Tensor {
	m := New(shape...)
	keep := float32(1 / (1 - rate))
	for i := range m.Data {
		if uniform() >= rate {
			m.Data[i] = keep
		}
	}
	return m
}
