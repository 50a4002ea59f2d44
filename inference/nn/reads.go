package nn

// BackwardReads is implemented by Funcs whose Backward reads the values of
// only some of its tensors (of the others at most the shape), for callers
// that drop activations after the forward pass and recompute them on
// demand (the training tape): what Backward does not read need not be
// recomputed. Backward must then work on tensors whose Data is nil where
// BackwardReads says it does not read them.
type BackwardReads interface {
	// BackwardReads says, for Backward with respect to input wrt, which
	// inputs' values it reads and whether it reads the output's values.
	BackwardReads(wrt int) (in []bool, out bool)
}

// Reads is f's BackwardReads, or every input and the output for a Func
// that does not implement it.
func Reads(f Func, wrt int) (in []bool, out bool) {
	if r, ok := f.(BackwardReads); ok {
		return r.BackwardReads(wrt)
	}
	in = make([]bool, len(f.InRanks()))
	for i := range in {
		in[i] = true
	}
	return in, true
}

// BackwardReads implements BackwardReads: the data gradient is a
// convolution of dout with the weights, the weight gradient a correlation
// of dout with the input, the bias gradient a sum of dout.
func (Conv3D) BackwardReads(wrt int) ([]bool, bool) {
	return []bool{wrt == 1, wrt == 0, false}, false
}

// BackwardReads implements BackwardReads: the input's sign and the slopes.
func (PReLU) BackwardReads(wrt int) ([]bool, bool) { return []bool{true, wrt == 0}, false }

// BackwardReads implements BackwardReads: the normalised input and gamma.
func (BatchNorm3D) BackwardReads(int) ([]bool, bool) { return []bool{true, true, false}, false }

// BackwardReads implements BackwardReads: shapes only.
func (AvgPool) BackwardReads(int) ([]bool, bool) { return []bool{false}, false }

// BackwardReads implements BackwardReads: shapes only.
func (Upsample) BackwardReads(int) ([]bool, bool) { return []bool{false}, false }

// BackwardReads implements BackwardReads: shapes only.
func (Crop) BackwardReads(int) ([]bool, bool) { return []bool{false}, false }

// BackwardReads implements BackwardReads: shapes only.
func (CropAdd) BackwardReads(int) ([]bool, bool) { return []bool{false, false}, false }

// BackwardReads implements BackwardReads: shapes only.
func (Concat) BackwardReads(int) ([]bool, bool) { return []bool{false, false}, false }

// BackwardReads implements BackwardReads: the output, y*(1-y).
func (Sigmoid) BackwardReads(int) ([]bool, bool) { return []bool{false}, true }

// BackwardReads implements BackwardReads: the mask only.
func (Dropout) BackwardReads(int) ([]bool, bool) { return []bool{false, true}, false }
