package viewer

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"metascope/internal/atomicfile"
	"metascope/volume"
)

var (
	update  = flag.Bool("update", false, "rewrite the golden images in testdata/")
	montage = flag.String("montage", "", "also write a large three-plane picture of the MNI head to this PNG file, to look at")
)

// mniScene is the real MNI head with two overlays, as two readers'
// disagreeing labels of one lesion: a 9 mm sphere in the left frontal lobe,
// outlined in red, and a filled 7 mm sphere shifted towards the midline and
// front at 40 % opacity in green. The cursor is at the centre of the first.
func mniScene(t testing.TB) (*volume.Volume, []Overlay, [3]int) {
	vol := mniHead(t)
	left := [3]float64{-30, 20, 30} // RAS mm: patient left (x < 0), anterior, superior
	other := [3]float64{-24, 26, 30}
	overlays := []Overlay{
		{Name: "reader A", Label: sphereLabel(vol.Grid, left, 9, 1), Color: LayerColors[0], Opacity: 1, Visible: true, Outline: true},
		{Name: "reader B", Label: sphereLabel(vol.Grid, other, 7, 1), Color: LayerColors[1], Opacity: 0.4, Visible: true},
	}
	c, err := vol.WorldToVoxel(left)
	if err != nil {
		t.Fatal(err)
	}
	cursor := [3]int{int(math.Round(c[0])), int(math.Round(c[1])), int(math.Round(c[2]))}
	return vol, overlays, cursor
}

// TestGoldenMNI renders the MNI head in three planes and compares with the
// stored pictures (go test ./viewer -run Golden -update rewrites them after
// a deliberate change; look at them before committing).
func TestGoldenMNI(t *testing.T) {
	vol, overlays, cursor := mniScene(t)
	wl := AutoWindow(vol, nil)
	var r Renderer
	for _, p := range Planes {
		v := DefaultView(p, vol.Grid, wl)
		v.Cursor = cursor
		img := image.NewRGBA(image.Rect(0, 0, 160, 160))
		r.Render(img, vol, overlays, v)
		path := filepath.Join("testdata", fmt.Sprintf("golden_mni_%v.png", p))
		if *update {
			writePNG(t, path, img)
			continue
		}
		want := readPNG(t, path)
		if d, x, y := maxDiff(img, want); d > 1 {
			t.Errorf("%v: pixel (%d, %d) is %v, golden %v (rerun with -update after a deliberate change)",
				p, x, y, img.RGBAAt(x, y), want.RGBAAt(x, y))
		}
	}
	if *montage != "" {
		writeMontage(t, *montage, vol, overlays, cursor, wl)
	}
}

// writeMontage writes the three planes at 400 x 400 side by side: the
// radiological convention (the lesion in the patient's left hemisphere on
// the screen's right), the neurological one, and then the head resampled to
// thick 4 mm axial slices stored LPS (DICOM order), zoomed 1.5x on the
// lesion, which must look the same way up, the same size and smooth.
func writeMontage(t *testing.T, path string, vol *volume.Volume, overlays []Overlay, cursor [3]int, wl WindowLevel) {
	const s = 400
	out := image.NewRGBA(image.Rect(0, 0, 3*s, 3*s))
	var r Renderer
	for row, o := range []Orientation{Radiological, Neurological} {
		for col, p := range Planes {
			v := DefaultView(p, vol.Grid, wl)
			v.Orientation = o
			v.Cursor = cursor
			tile := out.SubImage(image.Rect(col*s, row*s, (col+1)*s, (row+1)*s)).(*image.RGBA)
			r.Render(tile, vol, overlays, v)
		}
	}
	// Thick slices, LPS storage: 182 x 218 mm in plane, 4 mm apart.
	thick := volume.Grid{Dims: [3]int{182, 218, 45}, Affine: volume.Affine{
		{-1, 0, 0, 91}, {0, -1, 0, 91}, {0, 0, 4, -72}, {0, 0, 0, 1}}}
	tv := volume.Resample(vol, thick)
	tov := make([]Overlay, len(overlays))
	for i, o := range overlays {
		tov[i] = o
		tov[i].Label = volume.ResampleLabel(o.Label, thick)
	}
	world := vol.VoxelToWorld(toF(cursor))
	tc, err := thick.WorldToVoxel(world)
	if err != nil {
		t.Fatal(err)
	}
	tcur := [3]int{int(math.Round(tc[0])), int(math.Round(tc[1])), int(math.Round(tc[2]))}
	for col, p := range Planes {
		v := DefaultView(p, thick, wl)
		v.Cursor = tcur
		v = CentreOn(v, thick, s, s, tcur)
		v = ZoomAt(v, thick, s, s, s/2, s/2, 1.5)
		tile := out.SubImage(image.Rect(col*s, 2*s, (col+1)*s, 3*s)).(*image.RGBA)
		r.Render(tile, tv, tov, v)
	}
	// White separators between the tiles.
	for _, y := range []int{s, 2 * s} {
		draw.Draw(out, image.Rect(0, y, 3*s, y+1), image.White, image.Point{}, draw.Src)
	}
	for _, x := range []int{s, 2 * s} {
		draw.Draw(out, image.Rect(x, 0, x+1, 3*s), image.White, image.Point{}, draw.Src)
	}
	writePNG(t, path, out)
	t.Logf("wrote %s", path)
}

func writePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteBytes(path, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

func readPNG(t testing.TB, path string) *image.RGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test ./viewer -run Golden -update to create it)", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rgba := image.NewRGBA(img.Bounds())
	draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
	return rgba
}
