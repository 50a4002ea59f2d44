package nn

// PackedMask is a dropout mask (see DropoutMask: every element 0 or one
// value, 1/keep) in one bit per element: 1/32 of its memory, for callers
// that hold masks from the forward pass to the backward pass.
type PackedMask struct {
	shape []int
	value float32
	bits  []uint64
}

// PackMask packs m; ok is false when m has more than one non-zero value.
func PackMask(m *Tensor) (p PackedMask, ok bool) {
	p = PackedMask{shape: append([]int(nil), m.Shape...), bits: make([]uint64, (len(m.Data)+63)/64)}
	for i, v := range m.Data {
		if v == 0 {
			continue
		}
		if p.value == 0 {
			p.value = v
		} else if v != p.value {
			return PackedMask{}, false
		}
		p.bits[i/64] |= 1 << (i % 64)
	}
	return p, true
}

// Unpack returns the mask, equal bit for bit to the packed one.
func (p PackedMask) Unpack() *Tensor {
	m := New(p.shape...)
	for i := range m.Data {
		if p.bits[i/64]>>(i%64)&1 != 0 {
			m.Data[i] = p.value
		}
	}
	return m
}
