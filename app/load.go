package app

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"metascope/job"
	"metascope/preprocess"
	"metascope/segedit"
	"metascope/viewer"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// layerKind says where a label layer comes from, which decides whether it
// can be edited and whether the AI disclaimer applies.
type layerKind int

const (
	layerOwn       layerKind = iota // the current reader's labels (editable)
	layerReader                     // another reader's labels
	layerConsensus                  // labels/consensus.nii.gz
	layerAILabel                    // candidates/<model>.nii.gz
	layerAIProb                     // candidates/<model>_prob.nii.gz
)

func (k layerKind) isAI() bool { return k == layerAILabel || k == layerAIProb }

// layer is one overlay of the open case with its display settings.
type layer struct {
	name    string
	kind    layerKind
	label   *volume.Label  // label layers
	prob    *volume.Volume // probability maps
	color   color.NRGBA
	opacity float64
	visible bool
	outline bool
}

func (l *layer) overlay() viewer.Overlay {
	o := viewer.Overlay{Name: l.name, Color: l.color, Opacity: l.opacity, Visible: l.visible, Outline: l.outline}
	if l.prob != nil {
		o.Prob, o.Colormap, o.Threshold = l.prob, viewer.RedYellow, 0.2
	} else {
		o.Label = l.label
	}
	return o
}

// caseData is an open case: the four sequences in the T1c reference grid,
// their intensity histograms, the reader's editing session and the layers.
type caseData struct {
	c        *workspace.Case
	grid     volume.Grid
	images   [4]*volume.Volume // indexed by volume.Sequence, all on grid
	hist     [4]viewer.Histogram
	session  *segedit.Session
	layers   []*layer // drawn in order: later on top
	warnings []string
	// aligned reports whether T1, T2 and FLAIR are shown through the
	// case's registration (preproc/) rather than by world coordinates.
	aligned bool
}

// own is the reader's editable layer.
func (cd *caseData) own() *layer {
	for _, l := range cd.layers {
		if l.kind == layerOwn {
			return l
		}
	}
	return nil
}

func (cd *caseData) hasAI() bool {
	for _, l := range cd.layers {
		if l.kind.isAI() {
			return true
		}
	}
	return false
}

// loadRequest says which case to open for whom. Other readers' labels and
// the consensus are read only through ws (workspace.VisibleReaders,
// OpenLabel, OpenConsensusLabel), the single place that applies blinding.
type loadRequest struct {
	ws     *workspace.Workspace
	c      *workspace.Case
	reader string
}

// loadCase reads a case off the UI goroutine: the four images, each
// resampled once into the T1c grid, the reader's session (replaying any
// journal a crash left behind), the other layers and the histograms for
// automatic windows. Nothing here touches a widget.
func loadCase(ctx context.Context, req loadRequest, progress job.Progress) (cd *caseData, err error) {
	if progress == nil {
		progress = func(string, float64) {}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("open case %s: %v", req.c.Name(), r)
		}
	}()
	cd = &caseData{c: req.c}
	ref, err := nifti.ReadVolume(req.c.ImagePath(volume.T1c))
	if err != nil {
		return nil, fmt.Errorf("open case %s: %w", req.c.Name(), err)
	}
	cd.grid = ref.Grid
	cd.images[volume.T1c] = ref
	// With a preprocessed folder, the other sequences are shown through
	// their rigid registration to the T1c; without one, by the scanner's
	// world coordinates alone (patients move between sequences).
	var pre *preprocess.Result
	if _, serr := os.Stat(filepath.Join(req.c.PreprocDir(), preprocess.ManifestFile)); serr == nil {
		progress("reading the registration", 0)
		r, perr := preprocess.ReadResult(req.c.PreprocDir())
		switch {
		case perr != nil:
			cd.warnings = append(cd.warnings, perr.Error())
		case !r.ReferenceGrid.SameGeometry(cd.grid, 1e-4):
			cd.warnings = append(cd.warnings, fmt.Sprintf("%s: made from another T1c; not used", req.c.PreprocDir()))
		default:
			pre = r
			cd.aligned = true
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	progress("reading T1, T2, FLAIR", 1.0/6)
	// The three other sequences are read and brought into the T1c grid
	// side by side (decompression and resampling are CPU-bound).
	var wg sync.WaitGroup
	var errs [4]error
	for _, s := range volume.Sequences {
		if s == volume.T1c {
			continue
		}
		wg.Add(1)
		go func(s volume.Sequence) {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs[s] = fmt.Errorf("%s: %v", s.Title(), r)
				}
			}()
			v, err := nifti.ReadVolume(req.c.ImagePath(s))
			if err != nil {
				errs[s] = err
				return
			}
			switch {
			case pre != nil:
				// Through the case's registration, in one interpolation.
				v = pre.AlignToReference(s, v)
			case !v.Grid.SameGeometry(cd.grid, 1e-4):
				// Resampled once, by world coordinates: the reader draws
				// in the T1c grid and every sequence is shown there.
				v = volume.Resample(v, cd.grid)
			}
			cd.images[s] = v
		}(s)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("open case %s: %w", req.c.Name(), err)
		}
	}
	progress("intensity histograms", 4.0/6)
	// Automatic windows come from the brain's intensities when the brain
	// mask is known (scalp fat and marrow would skew them), else from the
	// whole head.
	var brain *volume.Label
	if pre != nil && pre.BrainMask != nil {
		if m, merr := pre.LabelToReference(pre.BrainMask); merr == nil && m.Count() > 0 {
			brain = m
		}
	}
	for _, s := range volume.Sequences {
		cd.hist[s] = viewer.NewHistogram(cd.images[s], brain)
	}
	progress("labels", 5.0/6)
	sess, err := segedit.OpenSession(segedit.SessionOptions{
		LabelPath: req.c.LabelPath(req.reader), Reader: req.reader, Grid: cd.grid,
	})
	if err != nil {
		return nil, fmt.Errorf("open case %s: %w", req.c.Name(), err)
	}
	cd.session = sess
	cd.warnings = append(cd.warnings, sess.Warnings()...)
	closeOnErr := func() {
		if err != nil {
			_ = sess.Close()
		}
	}
	defer closeOnErr()

	colors := viewer.LayerColors
	cands, _ := filepath.Glob(filepath.Join(req.c.CandidatesDir(), "*.nii.gz"))
	sort.Strings(cands)
	for _, p := range cands {
		base := strings.TrimSuffix(filepath.Base(p), ".nii.gz")
		if strings.HasSuffix(base, "_prob") {
			v, rerr := nifti.ReadVolume(p)
			if rerr != nil {
				cd.warnings = append(cd.warnings, rerr.Error())
				continue
			}
			if !v.Grid.SameGeometry(cd.grid, 1e-4) {
				v = volume.Resample(v, cd.grid)
			}
			cd.layers = append(cd.layers, &layer{name: "AI " + strings.TrimSuffix(base, "_prob") + " probability", kind: layerAIProb,
				prob: v, color: colors[2], opacity: 0.5, visible: false})
			continue
		}
		l, rerr := readLabelOn(p, cd.grid)
		if rerr != nil {
			cd.warnings = append(cd.warnings, rerr.Error())
			continue
		}
		cd.layers = append(cd.layers, &layer{name: "AI " + base, kind: layerAILabel, label: l,
			color: colors[4], opacity: 1, visible: true, outline: true})
	}
	// Blinding: only the readers the workspace lets this viewer see (all
	// of them only once every assigned reader has submitted, or with
	// blinding off), and the consensus only once it may be seen.
	ci := 1
	for _, name := range req.ws.VisibleReaders(req.c, req.reader) {
		if name == req.reader {
			continue
		}
		l, rerr := req.ws.OpenLabel(req.c, req.reader, name)
		if errors.Is(rerr, os.ErrNotExist) {
			continue // nothing drawn yet
		}
		if rerr != nil {
			cd.warnings = append(cd.warnings, rerr.Error())
			continue
		}
		if !l.Grid.SameGeometry(cd.grid, 1e-4) {
			l = volume.ResampleLabel(l, cd.grid)
		}
		cd.layers = append(cd.layers, &layer{name: name, kind: layerReader, label: l,
			color: colors[1+ci%3], opacity: 1, visible: true, outline: true})
		ci++
	}
	if _, serr := os.Stat(req.c.ConsensusPath()); serr == nil {
		l, rerr := req.ws.OpenConsensusLabel(req.c, req.reader)
		switch {
		case errors.Is(rerr, workspace.ErrBlinded):
			// Hidden until every reader has submitted.
		case rerr != nil:
			cd.warnings = append(cd.warnings, rerr.Error())
		default:
			if !l.Grid.SameGeometry(cd.grid, 1e-4) {
				l = volume.ResampleLabel(l, cd.grid)
			}
			cd.layers = append(cd.layers, &layer{name: "Consensus", kind: layerConsensus, label: l,
				color: colors[5], opacity: 1, visible: true, outline: true})
		}
	}
	// Draw order: probability washes at the bottom, then the reader's
	// own filled labels, then every outlined reference (AI candidates,
	// other readers, consensus), so that outlines stay visible on a fill.
	own := &layer{name: req.reader + " (you)", kind: layerOwn, label: sess.Label(),
		color: colors[0], opacity: 0.45, visible: true}
	ordered := make([]*layer, 0, len(cd.layers)+1)
	for _, l := range cd.layers {
		if l.kind == layerAIProb {
			ordered = append(ordered, l)
		}
	}
	ordered = append(ordered, own)
	for _, l := range cd.layers {
		if l.kind != layerAIProb {
			ordered = append(ordered, l)
		}
	}
	cd.layers = ordered
	progress("done", 1)
	return cd, nil
}

// readLabelOn reads a label file and brings it onto grid g (nearest
// neighbour) when it was saved on another grid.
func readLabelOn(path string, g volume.Grid) (*volume.Label, error) {
	l, err := nifti.ReadLabel(path)
	if err != nil {
		return nil, err
	}
	if !l.Grid.SameGeometry(g, 1e-4) {
		l = volume.ResampleLabel(l, g)
	}
	return l, nil
}
