package training

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"time"

	"metascope/inference"
	"metascope/inference/kernels"
	"metascope/inference/nn"
	"metascope/internal/atomicfile"
)

// Progress is one report of a training run, sent after every step and
// every validation; the GUI's progress panel and the terminal line read the
// same values.
type Progress struct {
	Stage         string // "training", "validating", "saving"
	Fold, Folds   int    // 1-based
	Epoch, Epochs int    // 1-based
	Step, Steps   int    // step within the epoch, 1-based
	// Loss is the mean training loss of the epoch so far; ValDice the last
	// validation Dice (NaN before the first); LearningRate the current one.
	Loss, ValDice, LearningRate float64
	// Done is the fraction of the whole run's steps done.
	Done               float64
	Elapsed, Remaining time.Duration
}

// ProgressFunc receives progress; it must be cheap and goroutine-safe.
type ProgressFunc func(Progress)

// EpochRecord is one line of the training curve.
type EpochRecord struct {
	Epoch        int     `json:"epoch"`
	Loss         float64 `json:"loss"`
	ValLoss      float64 `json:"val_loss"`
	ValDice      float64 `json:"val_dice"`
	LearningRate float64 `json:"learning_rate"`
	Seconds      float64 `json:"seconds"`
}

// FoldResult is a trained fold.
type FoldResult struct {
	Fold    int           `json:"fold"`
	Train   []string      `json:"train"`
	Val     []string      `json:"val"`
	ValDice float64       `json:"val_dice"`
	ValLoss float64       `json:"val_loss"`
	History []EpochRecord `json:"history"`
	net     *inference.Network
}

// Result is a finished run: the model folder and each fold.
type Result struct {
	ModelDir string
	Folds    []FoldResult
}

// RunOptions are where and how a run is kept, apart from the training
// options themselves.
type RunOptions struct {
	// OutDir is the model folder written at the end (model.json and the
	// fold weights); checkpoints and curves go into OutDir/training.
	OutDir string
	// Name and Description go into model.json.
	Name, Description string
	// Resume continues a run from its checkpoints; without it, a folder
	// that already holds a run is an error.
	Resume bool
	// SyntheticData marks a model trained on phantoms (model.json notice).
	SyntheticData bool
	// Backend computes the layers (nil: kernels.Default()).
	Backend kernels.Backend
	// Progress may be nil.
	Progress ProgressFunc
}

// TrainingDir is the folder of a run's checkpoints and curves.
func TrainingDir(modelDir string) string { return filepath.Join(modelDir, "training") }

// runFile is TrainingDir/run.json: what a resumed run must match.
type runFile struct {
	Options Options  `json:"options"`
	Source  string   `json:"source"`
	Cases   []string `json:"cases"`
	Folds   []Fold   `json:"folds"`
}

// Train runs k-fold cross-validation on data.Train and writes the ensemble
// model folder (inference.SaveModel) with model.json describing the data,
// the split, the options and each fold's validation metrics. Every epoch of
// every fold is checkpointed; with ro.Resume a stopped run continues from
// its checkpoints in exactly the state it had. ctx cancels between steps.
func Train(ctx context.Context, data *Dataset, opts Options, ro RunOptions) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("train: internal error: %v\n%s", r, debug.Stack())
		}
	}()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	defer trainingGC()()
	if ro.OutDir == "" {
		return nil, errors.New("train: no output folder")
	}
	if ro.Backend == nil {
		ro.Backend = kernels.Default()
	}
	names := make([]string, len(data.Train))
	for i, c := range data.Train {
		names[i] = c.Name
	}
	folds, err := KFold(len(data.Train), opts.Folds, opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	rf := runFile{Options: opts, Source: data.Source, Cases: names, Folds: folds}
	tdir := TrainingDir(ro.OutDir)
	runPath := filepath.Join(tdir, "run.json")
	if prev, err := os.ReadFile(runPath); err == nil {
		if !ro.Resume {
			return nil, fmt.Errorf("train: %s already holds a run; resume it or choose another folder", ro.OutDir)
		}
		var old runFile
		if err := json.Unmarshal(prev, &old); err != nil {
			return nil, fmt.Errorf("train: %s: %w", runPath, err)
		}
		if !reflect.DeepEqual(old.Options, rf.Options) || !reflect.DeepEqual(old.Cases, rf.Cases) {
			return nil, fmt.Errorf("train: %s was started with other options or cases; it cannot be resumed with these", ro.OutDir)
		}
	} else {
		if err := os.MkdirAll(tdir, 0o755); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		js, _ := json.MarshalIndent(rf, "", "  ")
		if err := atomicfile.WriteBytes(runPath, append(js, '\n')); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	t := &trainer{opts: opts, ro: ro, data: data, cache: newCache(opts.CasesLoaded), start: time.Now(),
		totalSteps: opts.Folds * opts.Epochs * opts.StepsPerEpoch()}
	res = &Result{ModelDir: ro.OutDir}
	var nets []*inference.Network
	for f, fold := range folds {
		fr, err := t.fold(ctx, f, fold)
		if err != nil {
			return nil, fmt.Errorf("train: fold %d: %w", f+1, err)
		}
		res.Folds = append(res.Folds, *fr)
		nets = append(nets, fr.net)
	}
	if err := saveEnsemble(ro, data, opts, res, nets); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return res, nil
}

func saveEnsemble(ro RunOptions, data *Dataset, opts Options, res *Result, nets []*inference.Network) error {
	type dataDoc struct {
		Source  string       `json:"source"`
		Kind    string       `json:"kind"`
		Cases   int          `json:"cases"`
		Options Options      `json:"options"`
		Folds   []FoldResult `json:"folds"`
	}
	dd := dataDoc{Source: data.Source, Kind: data.Kind, Cases: len(data.Train), Options: opts, Folds: res.Folds}
	js, err := json.Marshal(dd)
	if err != nil {
		return err
	}
	info := inference.ModelInfo{
		Name: ro.Name, Description: ro.Description, Created: time.Now().UTC().Format(time.RFC3339),
		SyntheticData: ro.SyntheticData, Data: js, Metrics: map[string]float64{},
		Threshold: opts.Threshold, MinComponentCM3: 0.003,
	}
	if ro.SyntheticData {
		info.Notice = inference.SyntheticNotice
	}
	var sum float64
	for _, fr := range res.Folds {
		info.Metrics[fmt.Sprintf("fold%d_val_dice", fr.Fold)] = finite(fr.ValDice)
		info.Metrics[fmt.Sprintf("fold%d_val_loss", fr.Fold)] = finite(fr.ValLoss)
		sum += finite(fr.ValDice)
	}
	info.Metrics["mean_val_dice"] = sum / float64(len(res.Folds))
	return inference.SaveModel(ro.OutDir, info, nets)
}

// finite maps NaN (undefined) to 0 for JSON, which has no NaN.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

type trainer struct {
	opts       Options
	ro         RunOptions
	data       *Dataset
	cache      *cache
	start      time.Time
	totalSteps int
	stepsDone  int // steps run by this process (for the time estimate)
	stepsSkip  int // steps restored from checkpoints
}

// foldState is a fold's checkpoint: everything that decides what the next
// epoch computes.
type foldState struct {
	Epoch     int // completed epochs
	LR        float64
	Best      float64
	SinceBest int
	History   []EpochRecord
	Weights   []byte // inference weights format (includes batch norm statistics)
	RMS       [][]float32
	RNG       []byte
	Done      bool
}

func (t *trainer) checkpointPath(f int) string {
	return filepath.Join(TrainingDir(t.ro.OutDir), fmt.Sprintf("fold-%d", f+1), "checkpoint.gob")
}

func (t *trainer) fold(ctx context.Context, f int, fold Fold) (*FoldResult, error) {
	o := t.opts
	fr := &FoldResult{Fold: f + 1}
	var trainCases, valCases []Case
	for _, i := range fold.Train {
		trainCases = append(trainCases, t.data.Train[i])
		fr.Train = append(fr.Train, t.data.Train[i].Name)
	}
	for _, i := range fold.Val {
		valCases = append(valCases, t.data.Train[i])
		fr.Val = append(fr.Val, t.data.Train[i].Name)
	}
	pcg := rand.NewPCG(o.Seed, uint64(f+1))
	rng := rand.New(pcg)
	net, err := inference.NewNetwork(o.Network, o.Seed*1000+uint64(f+1), t.ro.Backend)
	if err != nil {
		return nil, err
	}
	var params []*nn.Tensor
	for _, p := range net.TrainableParams() {
		params = append(params, p.T)
	}
	opt := newRMSprop(params, o.RMSRho, o.RMSEps)
	st := foldState{LR: o.LearningRate, Best: math.Inf(-1)}
	cp := t.checkpointPath(f)
	if t.ro.Resume {
		if data, err := os.ReadFile(cp); err == nil {
			if st, err = decodeState(data); err != nil {
				return nil, fmt.Errorf("checkpoint %s: %w", cp, err)
			}
			n, _, err := inference.DecodeWeights(st.Weights, t.ro.Backend)
			if err != nil {
				return nil, fmt.Errorf("checkpoint %s: %w", cp, err)
			}
			if !reflect.DeepEqual(n.Config, o.Network) || len(st.RMS) != len(params) {
				return nil, fmt.Errorf("checkpoint %s: another architecture", cp)
			}
			net = n
			params = params[:0]
			for i, p := range net.TrainableParams() {
				if len(st.RMS[i]) != len(p.T.Data) {
					return nil, fmt.Errorf("checkpoint %s: optimiser state does not fit the network", cp)
				}
				params = append(params, p.T)
			}
			opt.avg = st.RMS
			if err := pcg.UnmarshalBinary(st.RNG); err != nil {
				return nil, fmt.Errorf("checkpoint %s: %w", cp, err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	fr.net, fr.History = net, st.History
	if n := len(st.History); n > 0 {
		fr.ValDice, fr.ValLoss = st.History[n-1].ValDice, st.History[n-1].ValLoss
	}
	t.stepsSkip += st.Epoch * o.StepsPerEpoch()
	if st.Done {
		return fr, nil
	}
	val, err := t.valPatches(ctx, f, valCases)
	if err != nil {
		return nil, err
	}
	geo := net.Geometry()
	lastVal := math.NaN()
	if n := len(st.History); n > 0 {
		lastVal = st.History[n-1].ValDice
	}
	for epoch := st.Epoch; epoch < o.Epochs; epoch++ {
		began := time.Now()
		steps := o.StepsPerEpoch()
		perm := rng.Perm(len(trainCases))
		groups := (len(perm) + o.CasesLoaded - 1) / o.CasesLoaded
		var lossSum float64
		step := 0
		for g := 0; g < groups; g++ {
			idx := perm[g*o.CasesLoaded : min(len(perm), (g+1)*o.CasesLoaded)]
			loaded := make([]*trainCase, len(idx))
			byIdx := map[int]*trainCase{}
			for i, ci := range idx {
				if loaded[i], err = t.cache.get(ctx, trainCases[ci]); err != nil {
					return nil, err
				}
				byIdx[ci] = loaded[i]
			}
			n := steps*(g+1)/groups - steps*g/groups
			for s := 0; s < n; s++ {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				ps := make([]Patch, o.BatchSize)
				for i := range ps {
					ps[i] = drawPatch(rng, loaded, idx, o.LesionFraction, o.FlipProb)
				}
				x, y := batch(byIdx, ps, o.Network.InChannels, o.PatchSize, geo.Margin)
				loss, err := trainStep(net, opt, params, x, y, st.LR, o.Network.Dropout, rng)
				if err != nil {
					return nil, err
				}
				lossSum += loss
				step++
				t.stepsDone++
				t.report(Progress{Stage: "training", Fold: f + 1, Folds: o.Folds, Epoch: epoch + 1, Epochs: o.Epochs,
					Step: step, Steps: steps, Loss: lossSum / float64(step), ValDice: lastVal, LearningRate: st.LR})
			}
		}
		t.report(Progress{Stage: "validating", Fold: f + 1, Folds: o.Folds, Epoch: epoch + 1, Epochs: o.Epochs,
			Step: steps, Steps: steps, Loss: lossSum / float64(max(step, 1)), ValDice: lastVal, LearningRate: st.LR})
		vloss, vdice, err := t.validate(ctx, net, valCases, val, geo.Margin)
		if err != nil {
			return nil, err
		}
		lastVal = vdice
		st.History = append(st.History, EpochRecord{Epoch: epoch + 1, Loss: lossSum / float64(max(step, 1)),
			ValLoss: vloss, ValDice: vdice, LearningRate: st.LR, Seconds: time.Since(began).Seconds()})
		// The schedule: halve the rate when the validation Dice has not
		// improved for more than Patience epochs.
		if vdice > st.Best {
			st.Best, st.SinceBest = vdice, 0
		} else if st.SinceBest++; st.SinceBest > o.Patience {
			st.LR /= 2
			st.SinceBest = 0
		}
		st.Epoch = epoch + 1
		st.Done = st.Epoch == o.Epochs
		if err := t.saveState(cp, &st, net, opt, pcg); err != nil {
			return nil, err
		}
		if err := writeCurves(filepath.Dir(cp), st.History); err != nil {
			return nil, err
		}
	}
	fr.History = st.History
	if n := len(st.History); n > 0 {
		fr.ValDice, fr.ValLoss = st.History[n-1].ValDice, st.History[n-1].ValLoss
	}
	return fr, nil
}

// trainingGCPercent is the garbage collector's heap target during
// training (GOGC 25: collect when the heap has grown by a quarter since the
// last collection). A step's live memory climbs from the model to its
// activations (about 1 GB for the study's network and batch) and back
// every step; with the default 100 the heap may reach twice the peak
// before a collection, 2.5 GB of resident memory where the live peak is
// 1 GB. The activations are pointer-free float32 arrays, which a
// collection does not scan, so collecting four times as often costs next
// to nothing. A percentage, unlike a memory limit, scales with whatever
// else the process holds (the loaded cases, the GUI's volumes) instead of
// making the collector run without end when that grows past a fixed cap.
const trainingGCPercent = 25

// trainingGC lowers the collector's heap target to trainingGCPercent
// (never raises it: a lower GOGC, or GOGC=off, stays) and returns the
// function that restores it. The setting is the process's: training runs
// that overlap may leave it at trainingGCPercent.
func trainingGC() (restore func()) {
	old := debug.SetGCPercent(trainingGCPercent)
	if old < trainingGCPercent { // GOGC=off is -1
		debug.SetGCPercent(old)
	}
	return func() { debug.SetGCPercent(old) }
}

// trainStep runs one optimiser step on a batch and returns its loss.
func trainStep(net *inference.Network, opt *rmsprop, params []*nn.Tensor, x, y *nn.Tensor, lr, dropout float64, rng *rand.Rand) (float64, error) {
	var mask func(int, []int) *nn.Tensor
	if dropout > 0 {
		mask = func(_ int, shape []int) *nn.Tensor { return nn.DropoutMask(shape, dropout, rng.Float64) }
	}
	tape, err := net.ForwardTrain(x, mask)
	if err != nil {
		return 0, err
	}
	loss, dout := DiceLoss(tape.Output(), y)
	grads, err := tape.Backward(dout)
	if err != nil {
		return 0, err
	}
	opt.step(params, grads, lr)
	return loss, nil
}

func (t *trainer) report(p Progress) {
	if t.ro.Progress == nil {
		return
	}
	done := t.stepsSkip + t.stepsDone
	p.Done = float64(done) / float64(max(t.totalSteps, 1))
	p.Elapsed = time.Since(t.start)
	if t.stepsDone > 0 {
		per := p.Elapsed / time.Duration(t.stepsDone)
		p.Remaining = per * time.Duration(max(t.totalSteps-done, 0))
	}
	t.ro.Progress(p)
}

// valPatches draws the fold's fixed validation patches (no flips) from
// its own random stream, group by group of loaded cases.
func (t *trainer) valPatches(ctx context.Context, f int, cases []Case) ([]Patch, error) {
	o := t.opts
	rng := rand.New(rand.NewPCG(o.Seed, uint64(1000+f)))
	groups := (len(cases) + o.CasesLoaded - 1) / o.CasesLoaded
	var out []Patch
	for g := 0; g < groups; g++ {
		var idx []int
		var loaded []*trainCase
		for ci := g * o.CasesLoaded; ci < min(len(cases), (g+1)*o.CasesLoaded); ci++ {
			tc, err := t.cache.get(ctx, cases[ci])
			if err != nil {
				return nil, err
			}
			idx, loaded = append(idx, ci), append(loaded, tc)
		}
		n := o.ValPatches*(g+1)/groups - o.ValPatches*g/groups
		for i := 0; i < n; i++ {
			out = append(out, drawPatch(rng, loaded, idx, o.LesionFraction, 0))
		}
	}
	return out, nil
}

// validate scores the network (eval mode) on the validation patches: the
// soft Dice loss and the Dice at the threshold, pooled over all patches.
func (t *trainer) validate(ctx context.Context, net *inference.Network, cases []Case, ps []Patch, margin int) (loss, dice float64, err error) {
	o := t.opts
	var dc diceCount
	var lsum float64
	var nb int
	// Patches are visited case group by case group so that no more than
	// CasesLoaded cases are needed at once.
	for g := 0; g*o.CasesLoaded < len(cases); g++ {
		lo, hi := g*o.CasesLoaded, min(len(cases), (g+1)*o.CasesLoaded)
		byIdx := map[int]*trainCase{}
		var sel []Patch
		for _, p := range ps {
			if p.Case >= lo && p.Case < hi {
				sel = append(sel, p)
			}
		}
		for ci := lo; ci < hi && len(sel) > 0; ci++ {
			if byIdx[ci], err = t.cache.get(ctx, cases[ci]); err != nil {
				return 0, 0, err
			}
		}
		for b := 0; b < len(sel); b += o.BatchSize {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
			x, y := batch(byIdx, sel[b:min(len(sel), b+o.BatchSize)], o.Network.InChannels, o.PatchSize, margin)
			p, err := net.Forward(x)
			if err != nil {
				return 0, 0, err
			}
			l, _ := DiceLoss(p, y)
			lsum += l
			nb++
			dc.add(p, y, float32(o.Threshold))
		}
	}
	return lsum / float64(max(nb, 1)), dc.dice(), nil
}

func (t *trainer) saveState(path string, st *foldState, net *inference.Network, opt *rmsprop, pcg *rand.PCG) error {
	var wb bytes.Buffer
	if err := inference.EncodeWeights(&wb, net, inference.DefaultPreprocessing(), map[string]string{"checkpoint_epoch": fmt.Sprint(st.Epoch)}); err != nil {
		return err
	}
	st.Weights = wb.Bytes()
	st.RMS = opt.avg
	rb, err := pcg.MarshalBinary()
	if err != nil {
		return err
	}
	st.RNG = rb
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(st); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}

func decodeState(data []byte) (st foldState, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt checkpoint: %v", r)
		}
	}()
	err = gob.NewDecoder(bytes.NewReader(data)).Decode(&st)
	return st, err
}
