package dicomio

import (
	"fmt"
	"math"
	"testing"

	"metascope/volume"
)

// axialStack is n axial slices 2 mm apart, listed in reverse position order
// with InstanceNumbers that are neither position nor list order.
func axialStack(n int) []*instance {
	var out []*instance
	for k := n - 1; k >= 0; k-- {
		out = append(out, &instance{
			path: fmt.Sprintf("f%d", k), rows: 4, cols: 5,
			ipp: []float64{-10, -20, 30 + 2*float64(k)}, iop: []float64{1, 0, 0, 0, 1, 0},
			pixelSpacing: []float64{0.5, 0.25}, te: 10, acquisition: "1",
			instanceNum: (k * 7) % n,
		})
	}
	return out
}

func TestStackOrderAndAffine(t *testing.T) {
	ins := axialStack(6)
	order, aff, err := stack(ins)
	if err != nil {
		t.Fatal(err)
	}
	for k, idx := range order {
		if ins[idx].path != fmt.Sprintf("f%d", k) {
			t.Fatalf("slice %d is %s", k, ins[idx].path)
		}
	}
	// LPS (-10,-20,30) -> RAS (10,20,30); columns 0.25 mm along -x (RAS),
	// rows 0.5 mm along -y, slices 2 mm along +z.
	want := volume.Affine{{-0.25, 0, 0, 10}, {0, -0.5, 0, 20}, {0, 0, 2, 30}, {0, 0, 0, 1}}
	if !aff.AlmostEqual(want, 1e-12) {
		t.Fatalf("affine %v, want %v", aff, want)
	}
}

func TestStackRefusals(t *testing.T) {
	cases := []struct {
		name   string
		change func([]*instance) []*instance
		want   string
	}{
		{"time points", func(s []*instance) []*instance {
			c := *s[2]
			c.acquisition, c.path = "2", "dyn"
			return append(s, &c)
		}, "several time points"},
		{"temporal position", func(s []*instance) []*instance {
			c := *s[2]
			c.temporalPos, c.path = "3", "dyn"
			return append(s, &c)
		}, "several time points"},
		{"echo numbers", func(s []*instance) []*instance {
			c := *s[2]
			c.echoNumber, c.path = "2", "echo2"
			return append(s, &c)
		}, "several echoes"},
		{"no position", func(s []*instance) []*instance { s[1].ipp = nil; return s }, "no ImagePositionPatient"},
		{"no orientation", func(s []*instance) []*instance { s[1].iop = nil; return s }, "no ImageOrientationPatient"},
		{"no spacing", func(s []*instance) []*instance { s[1].pixelSpacing = []float64{0, 1}; return s }, "PixelSpacing"},
		{"mixed pixel spacing", func(s []*instance) []*instance { s[1].pixelSpacing = []float64{0.6, 0.25}; return s }, "mixed pixel spacing"},
		{"not orthonormal", func(s []*instance) []*instance {
			for _, in := range s {
				in.iop = []float64{1, 0, 0, 0.5, 0.5, 0}
			}
			return s
		}, "orthonormal"},
		{"drifting in plane", func(s []*instance) []*instance { s[2].ipp[0] += 3; return s }, "not on one line"},
		{"two missing", func(s []*instance) []*instance { return append(s[:2], s[4:]...) }, "2 slice(s) absent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := stack(c.change(axialStack(8)))
			wantErr(t, err, c.want)
		})
	}
}

func TestGantryTiltIsKeptAsShear(t *testing.T) {
	ins := axialStack(5)
	for _, in := range ins {
		in.ipp[1] += 0.2 * (in.ipp[2] - 30) // y shifts with z: a tilted gantry
	}
	_, aff, err := stack(ins)
	if err != nil {
		t.Fatal(err)
	}
	// Slice step in RAS: (0, -0.4, 2).
	if math.Abs(aff[1][2]+0.4) > 1e-12 || math.Abs(aff[2][2]-2) > 1e-12 {
		t.Fatalf("slice column (%g, %g, %g), want (0, -0.4, 2)", aff[0][2], aff[1][2], aff[2][2])
	}
}

func TestStoreSignAndBits(t *testing.T) {
	cases := []struct {
		bits, rep    int
		raw          uint32
		slope, inter float64
		want         float32
	}{
		{16, 0, 0xFFFF, 1, 0, 65535},
		{16, 1, 0xFFFF, 1, 0, -1},
		{16, 1, 0x8000, 1, 0, -32768},
		{12, 1, 0x0FFF, 1, 0, -1},   // 12 bits stored, sign bit 11
		{12, 1, 0xF7FF, 1, 0, 2047}, // high bits (overlay junk) ignored
		{12, 0, 0xF800, 2, -1024, 2048*2 - 1024},
		{8, 1, 0x80, 0.5, 0, -64},
		{32, 1, 0xFFFFFFFE, 1, 0, -2},
	}
	for _, c := range cases {
		in := &instance{bitsStored: c.bits, pixelRep: c.rep, slope: c.slope, inter: c.inter}
		dst := make([]float32, 1)
		in.store(dst, []uint32{c.raw})
		if dst[0] != c.want {
			t.Errorf("%d bits rep %d raw %#x: got %g, want %g", c.bits, c.rep, c.raw, dst[0], c.want)
		}
	}
}
