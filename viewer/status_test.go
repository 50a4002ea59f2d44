package viewer

import (
	"strings"
	"testing"

	"metascope/volume"
)

// TestStatusTextMNI reads the status of a voxel of the real MNI head: the
// RAS position comes from the file's affine (voxel 90,126,72 is the MNI
// origin, the anterior commissure), and every layer reports its own value
// there.
func TestStatusTextMNI(t *testing.T) {
	vol := mniHead(t)
	g := vol.Grid
	origin := [3]int{90, 126, 72}
	lab := sphereLabel(g, g.VoxelToWorld(toF(origin)), 3, 2)
	prob := volume.New(g)
	prob.Set(origin[0], origin[1], origin[2], 0.875)
	got := StatusText(g, origin,
		[]NamedVolume{{"T1", vol}, {"T2", nil}, {"bad", volume.New(volume.Grid{Dims: [3]int{2, 2, 2}, Affine: volume.Identity()})}},
		[]Overlay{{Name: "Reader A", Label: lab}, {Name: "AI", Prob: prob}})
	for _, want := range []string{
		"voxel 90,126,72", "RAS 0.0,0.0,0.0 mm",
		"T1 " + FormatIntensity(vol.At(90, 126, 72)),
		"T2 -", "bad -", "Reader A 2", "AI 0.88",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status %q lacks %q", got, want)
		}
	}
	if got := StatusText(g, [3]int{-1, 0, 0}, nil, nil); got != "outside the image" {
		t.Errorf("outside: %q", got)
	}
}

func TestFormatIntensity(t *testing.T) {
	for x, want := range map[float32]string{
		812: "812", 1420.4: "1420", -3: "-3", 12.34: "12.3", 1.234: "1.23",
		-0.4567: "-0.457", -0.0001: "0.000", 0: "0",
	} {
		if got := FormatIntensity(x); got != want {
			t.Errorf("FormatIntensity(%g) = %q, want %q", x, got, want)
		}
	}
	if got := fmtFloat(-0.04, 1); got != "0.0" {
		t.Errorf("fmtFloat(-0.04, 1) = %q, want 0.0 (no negative zero)", got)
	}
}
