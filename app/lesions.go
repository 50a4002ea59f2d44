package app

import (
	"fmt"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"metascope/lesion"
	"metascope/viewer"
	"metascope/volume"
)

func (w *Workstation) buildLesionTable() {
	w.ui.lesionSum = widget.NewLabel("")
	w.ui.lesionOf = widget.NewSelect(nil, func(name string) {
		defer w.unfocus()
		if w.cd == nil {
			return
		}
		for i, l := range w.cd.layers {
			if l.name == name && i != w.lesionLayer {
				w.lesionLayer = i
				w.refreshLesions()
			}
		}
	})
	w.ui.lesionList = widget.NewList(
		func() int { return len(w.lesions) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("#00  00.000 cm3  R 000 A 000 S 000")
			l.TextStyle = fyne.TextStyle{Monospace: true}
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			c := w.lesions[id]
			r := c.CentroidRAS
			o.(*widget.Label).SetText(fmt.Sprintf("#%-2d %7.3f cm3  %s", id+1, c.VolumeCM3, rasText(r)))
		},
	)
	w.ui.lesionList.OnSelected = func(id widget.ListItemID) {
		w.GoToLesion(id)
		w.unfocus()
	}
}

// rasText writes a RAS position the way radiologists read it: R/L, A/P,
// S/I with positive millimetres.
func rasText(r [3]float64) string {
	f := func(v float64, pos, neg string) string {
		if v < 0 {
			return fmt.Sprintf("%s%3.0f", neg, -v)
		}
		return fmt.Sprintf("%s%3.0f", pos, v)
	}
	return f(r[0], "R", "L") + " " + f(r[1], "A", "P") + " " + f(r[2], "S", "I")
}

// refreshLesions recounts the lesions of the lesion table's layer.
func (w *Workstation) refreshLesions() {
	w.lesions = nil
	if w.cd != nil && w.lesionLayer < len(w.cd.layers) {
		if l := w.cd.layers[w.lesionLayer]; l.label != nil {
			w.lesions = lesion.ComponentList(l.label, lesion.Conn26)
		}
	}
	total := 0.0
	for _, c := range w.lesions {
		total += c.VolumeCM3
	}
	plural := "s"
	if len(w.lesions) == 1 {
		plural = ""
	}
	w.ui.lesionSum.SetText(fmt.Sprintf("%d lesion%s, %.3f cm3 in all  ([ ] step)", len(w.lesions), plural, total))
	if w.lesionIdx >= len(w.lesions) {
		w.lesionIdx = 0
	}
	w.ui.lesionList.UnselectAll()
	w.ui.lesionList.Refresh()
}

// GoToLesion moves the cursor into lesion i of the table (its voxel nearest
// the centroid, so that ring-shaped lesions are hit too) and centres the
// views on it.
func (w *Workstation) GoToLesion(i int) {
	if w.cd == nil || i < 0 || i >= len(w.lesions) {
		return
	}
	w.lesionIdx = i
	c := w.lesions[i]
	target := nearestVoxel(w.cd.layers[w.lesionLayer].label, c)
	for _, row := range w.slots {
		for _, sl := range row {
			sz := sl.sv.Size()
			if sz.Width > 0 && w.zoom[sl.plane] > 1 {
				v := viewer.CentreOn(w.viewOf(sl), w.cd.grid, float64(sz.Width), float64(sz.Height), target)
				w.pan[sl.plane] = v.Pan
			}
		}
	}
	w.SetCursor(target)
}

// StepLesion selects the next (d = 1) or previous (d = -1) lesion.
func (w *Workstation) StepLesion(d int) {
	n := len(w.lesions)
	if n == 0 {
		return
	}
	i := ((w.lesionIdx+d)%n + n) % n
	if w.ui.lesionList != nil {
		w.ui.lesionList.Select(i) // calls GoToLesion
		return
	}
	w.GoToLesion(i)
}

// nearestVoxel is the labelled voxel of component c closest to its
// centroid.
func nearestVoxel(l *volume.Label, c lesion.Component) [3]int {
	best := [3]int{int(math.Round(c.CentroidVoxel[0])), int(math.Round(c.CentroidVoxel[1])), int(math.Round(c.CentroidVoxel[2]))}
	if l.At(best[0], best[1], best[2]) != 0 {
		return best
	}
	bd := math.Inf(1)
	for k := c.BBoxMin[2]; k <= c.BBoxMax[2]; k++ {
		for j := c.BBoxMin[1]; j <= c.BBoxMax[1]; j++ {
			for i := c.BBoxMin[0]; i <= c.BBoxMax[0]; i++ {
				if l.At(i, j, k) == 0 {
					continue
				}
				d := sq(float64(i)-c.CentroidVoxel[0]) + sq(float64(j)-c.CentroidVoxel[1]) + sq(float64(k)-c.CentroidVoxel[2])
				if d < bd {
					bd, best = d, [3]int{i, j, k}
				}
			}
		}
	}
	return best
}

func sq(x float64) float64 { return x * x }
