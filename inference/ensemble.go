package inference

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"metascope/inference/kernels"
	"metascope/job"
	"metascope/lesion"
	"metascope/volume"
)

// Options tune a prediction; the zero value uses the defaults.
type Options struct {
	// Segment is the output edge of a tile, a multiple of the network's
	// Geometry().Align; 0 means DefaultSegment.
	Segment int
	// Connectivity joins candidate voxels into lesions (zero: 26).
	Connectivity lesion.Connectivity
	// FoldsAtOnce is how many network passes (a block of one fold) run at
	// the same time (0: 2 for segments up to 72, 1 for larger ones, to stay
	// under 4 GB). The passes of all folds form one queue, so the workers
	// stay busy to the end whatever the number of folds. Within a pass the
	// convolutions use every core, but the element-wise layers, tile
	// extraction and the waits at the end of each layer run on one; two
	// passes side by side keep both cores of a two-core machine busy
	// through those stretches. Each pass holds its own buffers: about 1.4 GB
	// at the default segment, 3.9 GB at 96 (BenchmarkBrain).
	FoldsAtOnce int
}

// Candidate is one fused lesion candidate. Its MaxProb and MeanProb are over
// the folds' mean probability map.
type Candidate struct {
	lesion.Component
	// Folds is how many fold models' own binary maps touch the candidate:
	// a simple measure of agreement to show next to it.
	Folds int `json:"folds"`
}

// Prediction is the result of an ensemble on one case, on the inputs' grid.
type Prediction struct {
	// Prob is the mean of the folds' probability maps (for review, FROC).
	Prob *volume.Volume
	// Label is the fused candidate map (1 = candidate): the folds' binary
	// maps (probability >= threshold) by majority vote, components under
	// the model's minimum volume removed.
	Label *volume.Label
	// Candidates lists Label's components in lesion's ID order.
	Candidates []Candidate
	// FoldLabels are the folds' binary maps, in fold order.
	FoldLabels []*volume.Label
	// Removed is how many fused components were dropped as too small.
	Removed int
	// Notice is the model's notice (for example that it was trained on
	// synthetic data), to be shown with the result.
	Notice string
}

// Predict runs every fold of m over the brain and fuses them. inputs are the
// preprocessed sequences (1 mm, z-scored inside the brain) in
// volume.Sequences order on the brain mask's grid.
func Predict(ctx context.Context, m *Ensemble, inputs [4]*volume.Volume, brainMask *volume.Label, opts Options, progress job.Progress) (p *Prediction, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("predict: internal error: %v", r)
		}
	}()
	if len(m.Folds) == 0 {
		return nil, fmt.Errorf("predict: model %s has no folds", m.Dir)
	}
	seg := opts.Segment
	if seg == 0 {
		seg = DefaultSegment
	}
	if al := m.Info.Config.Geometry().Align; seg%al != 0 || seg < al {
		return nil, fmt.Errorf("predict: segment %d: must be a positive multiple of %d", seg, al)
	}
	if err := checkInputs(inputs[:], brainMask, m.Info.Config.InChannels); err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	atOnce := opts.FoldsAtOnce
	if atOnce == 0 {
		atOnce = 2
		if seg > 72 {
			atOnce = 1
		}
	}
	if atOnce < 0 {
		return nil, fmt.Errorf("predict: %d folds at once", atOnce)
	}
	probs, err := predictFolds(ctx, m.Folds, inputs[:], brainMask, seg, atOnce, progress)
	if err != nil {
		return nil, err
	}
	progress.Report("fusing folds", 1)
	p = Fuse(probs, m.Info.Threshold, m.Info.MinComponentCM3, opts.Connectivity)
	p.Notice = m.Info.Notice
	return p, nil
}

// predictFolds runs every fold over every block of its Plan and returns
// the folds' maps in fold order. The (fold, block) items form one queue
// that atOnce workers drain, each taking the next item, so every worker
// stays busy to the end (with folds as the unit, five folds on two workers
// ran 2, 2, then 1 alone). Each block writes its own voxels of its fold's
// map, so a map is the same whatever runs beside it. Progress is the share
// of items done; the first error stops the others.
func predictFolds(ctx context.Context, folds []*Network, inputs []*volume.Volume, mask *volume.Label, seg, atOnce int, progress job.Progress) ([]*volume.Volume, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nf := len(folds)
	probs := make([]*volume.Volume, nf)
	type item struct {
		fold  int
		block Block
	}
	// Folds on alike CPU backends share the first one: a backend keeps a
	// scratch buffer per concurrent caller (up to 160 MB each), so five
	// folds' own backends would hold five times the scratch two workers
	// need. Results do not change (same arithmetic).
	shared := make([]*Network, nf)
	var cpus []*kernels.CPU
	for f, n := range folds {
		shared[f] = n
		cpu, ok := n.Backend.(*kernels.CPU)
		if !ok {
			continue
		}
		i := slices.IndexFunc(cpus, cpu.SameSettings)
		if i < 0 {
			cpus = append(cpus, cpu)
			continue
		}
		c := *n
		c.Backend = cpus[i]
		shared[f] = &c
	}
	folds = shared
	var items []item
	for f, n := range folds {
		if err := checkInputs(inputs, mask, n.Config.InChannels); err != nil {
			return nil, fmt.Errorf("predict: fold %d: %w", f+1, err)
		}
		blocks, err := Plan(mask, seg, n.Geometry())
		if err != nil {
			return nil, fmt.Errorf("predict: fold %d: %w", f+1, err)
		}
		probs[f] = volume.New(mask.Grid)
		for _, b := range blocks {
			items = append(items, item{f, b})
		}
	}
	errs := make([]error, nf)
	var mu sync.Mutex
	next, finished := 0, 0
	take := func() (item, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(items) || ctx.Err() != nil {
			return item{}, false
		}
		next++
		return items[next-1], true
	}
	progress.Report("network", 0)
	var wg sync.WaitGroup
	for w := 0; w < max(1, atOnce); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The worker's released activation buffers, kept from block to
			// block (see buffers).
			var buf buffers
			for {
				it, ok := take()
				if !ok {
					return
				}
				err := func() (err error) {
					defer func() {
						if r := recover(); r != nil {
							err = fmt.Errorf("internal error: %v", r)
						}
					}()
					return predictBlock(folds[it.fold], inputs, mask, it.block, probs[it.fold], &buf)
				}()
				mu.Lock()
				if err != nil && errs[it.fold] == nil {
					errs[it.fold] = err
				}
				finished++
				if err == nil {
					// Under the lock, so that reports never go backwards.
					progress.Report("network", float64(finished)/float64(len(items)))
				}
				mu.Unlock()
				if err != nil {
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("predict: fold %d: %w", i+1, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	return probs, nil
}

// Fuse turns the folds' probability maps (same grid) into a Prediction:
// each thresholded (>= threshold) to a binary map, the maps fused by
// majority vote, components under minCM3 removed, candidates listed with
// the mean map's maximum and mean probability and their fold count.
func Fuse(probs []*volume.Volume, threshold, minCM3 float64, conn lesion.Connectivity) *Prediction {
	p := &Prediction{Prob: lesion.MeanProbability(probs)}
	for _, prob := range probs {
		p.FoldLabels = append(p.FoldLabels, lesion.Threshold(prob, float32(threshold)))
	}
	fused := lesion.MajorityVote(p.FoldLabels)
	p.Label, p.Removed = lesion.RemoveSmall(fused, minCM3, conn)
	p.Candidates = Candidates(p.Label, p.Prob, p.FoldLabels, conn)
	return p
}

// Candidates lists the components of a fused label map with the maximum and
// mean of prob over each and how many of the fold maps touch it. All maps
// share one grid; Fuse uses it on the network's grid, and callers that map
// a prediction into another grid (the case's T1c) call it again there.
func Candidates(label *volume.Label, prob *volume.Volume, folds []*volume.Label, conn lesion.Connectivity) []Candidate {
	labels, comps := lesion.ComponentsWithProb(label, prob, conn)
	touched := make([][]bool, len(folds))
	for f, fl := range folds {
		touched[f] = make([]bool, len(comps)+1)
		for j, id := range labels {
			if id != 0 && fl.Data[j] != 0 {
				touched[f][id] = true
			}
		}
	}
	var out []Candidate
	for _, c := range comps {
		cand := Candidate{Component: c}
		for f := range touched {
			if touched[f][c.ID] {
				cand.Folds++
			}
		}
		out = append(out, cand)
	}
	return out
}
