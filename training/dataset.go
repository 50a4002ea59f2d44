package training

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"metascope/phantom"
	"metascope/preprocess"
	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// Case is one labelled case of a dataset, not yet read: its four sequences
// as acquired, its ground truth on the T1c grid, and the folder where its
// preprocessing is cached.
type Case struct {
	Name string
	// Images are the sequences' files in volume.Sequences order.
	Images [4]string
	// Label is the ground truth (non-zero = metastasis) on the T1c grid.
	Label string
	// PreprocDir caches the preprocessed case (preprocess.WriteResult).
	PreprocDir string
}

// Dataset is a list of cases. Train are the cases training may use, Test
// those held out (a phantom cohort's test split; empty otherwise).
type Dataset struct {
	Source string // the folder it was read from
	Kind   string // "workspace", "decathlon" or "phantom"
	Train  []Case
	Test   []Case
}

// OpenDataset reads a dataset's case list from dir, which is a Metascope
// workspace (cases marked ready for training, with their consensus), an
// nnU-Net/Decathlon folder (dataset.json, imagesTr, labelsTr) or a phantom
// cohort (manifest.json). Nothing but the lists is read.
func OpenDataset(dir string) (*Dataset, error) {
	has := func(name string) bool { _, err := os.Stat(filepath.Join(dir, name)); return err == nil }
	switch {
	case has(phantom.ManifestFile):
		return openPhantom(dir)
	case has("dataset.json"):
		return openDecathlon(dir)
	case has("workspace.json"):
		return openWorkspace(dir)
	}
	return nil, fmt.Errorf("dataset %s: not a workspace (workspace.json), nnU-Net folder (dataset.json) or phantom cohort (%s)", dir, phantom.ManifestFile)
}

func openPhantom(dir string) (*Dataset, error) {
	m, err := phantom.ReadManifest(filepath.Join(dir, phantom.ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	d := &Dataset{Source: dir, Kind: "phantom"}
	for _, mc := range m.Cases {
		if mc.Dir == "" || filepath.IsAbs(mc.Dir) || strings.Contains(mc.Dir, "..") {
			return nil, fmt.Errorf("dataset %s: case %q: folder %q must be inside the cohort", dir, mc.Name, mc.Dir)
		}
		cd := filepath.Join(dir, mc.Dir)
		c := Case{Name: mc.Name, Label: filepath.Join(cd, phantom.LabelFile), PreprocDir: filepath.Join(cd, "preproc")}
		for _, s := range volume.Sequences {
			c.Images[s] = filepath.Join(cd, phantom.ImageFile(s))
		}
		if mc.Split == phantom.Test {
			d.Test = append(d.Test, c)
		} else {
			d.Train = append(d.Train, c)
		}
	}
	if len(d.Train)+len(d.Test) == 0 {
		return nil, fmt.Errorf("dataset %s: the cohort has no cases", dir)
	}
	return d, nil
}

func openWorkspace(dir string) (*Dataset, error) {
	w, err := workspace.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	cases, err := w.Cases()
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	d := &Dataset{Source: dir, Kind: "workspace"}
	for _, wc := range cases {
		if !wc.ReadyForTraining() {
			continue
		}
		c := Case{Name: wc.Name(), Label: wc.ConsensusPath(), PreprocDir: wc.PreprocDir()}
		for _, s := range volume.Sequences {
			if _, ok := wc.Sequence(s); !ok {
				return nil, fmt.Errorf("dataset %s: case %s is marked ready for training but has no %s", dir, wc.Name(), s.Title())
			}
			c.Images[s] = wc.ImagePath(s)
		}
		d.Train = append(d.Train, c)
	}
	if len(d.Train) == 0 {
		return nil, fmt.Errorf("dataset %s: no case is marked ready for training", dir)
	}
	return d, nil
}

// decathlonJSON is the part of an nnU-Net v2 dataset.json training reads.
type decathlonJSON struct {
	ChannelNames map[string]string `json:"channel_names"`
	Labels       map[string]any    `json:"labels"`
	NumTraining  int               `json:"numTraining"`
	FileEnding   string            `json:"file_ending"`
}

// decathlonChannels maps the channel names Metascope's export writes (and
// common spellings) to sequences.
func decathlonChannel(name string) (volume.Sequence, bool) {
	n := strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(name))
	switch n {
	case "t1", "t1w", "t1native":
		return volume.T1, true
	case "t2", "t2w":
		return volume.T2, true
	case "t1c", "t1ce", "t1gd", "t1post", "t1contrast", "t1postcontrast":
		return volume.T1c, true
	case "flair", "t2flair":
		return volume.FLAIR, true
	}
	return 0, false
}

func openDecathlon(dir string) (*Dataset, error) {
	path := filepath.Join(dir, "dataset.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	var dj decathlonJSON
	if err := json.Unmarshal(data, &dj); err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	if dj.FileEnding == "" {
		dj.FileEnding = ".nii.gz"
	}
	if dj.FileEnding != ".nii.gz" && dj.FileEnding != ".nii" {
		return nil, fmt.Errorf("dataset %s: file_ending %q: only .nii.gz and .nii are read", path, dj.FileEnding)
	}
	if len(dj.ChannelNames) != 4 {
		return nil, fmt.Errorf("dataset %s: %d channels, want 4 (T1, T2, T1c, FLAIR)", path, len(dj.ChannelNames))
	}
	var chanOf [4]int // channel index of each sequence
	seen := map[volume.Sequence]bool{}
	for k, name := range dj.ChannelNames {
		var idx int
		if _, err := fmt.Sscanf(k, "%d", &idx); err != nil || idx < 0 || idx > 3 {
			return nil, fmt.Errorf("dataset %s: channel key %q: want 0..3", path, k)
		}
		s, ok := decathlonChannel(name)
		if !ok || seen[s] {
			return nil, fmt.Errorf("dataset %s: channel %s %q: want each of T1, T2, T1c, FLAIR once", path, k, name)
		}
		seen[s] = true
		chanOf[s] = idx
	}
	labels, err := filepath.Glob(filepath.Join(dir, "labelsTr", "*"+dj.FileEnding))
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	sort.Strings(labels)
	d := &Dataset{Source: dir, Kind: "decathlon"}
	for _, lp := range labels {
		name := strings.TrimSuffix(filepath.Base(lp), dj.FileEnding)
		c := Case{Name: name, Label: lp, PreprocDir: filepath.Join(dir, "preproc", name)}
		for _, s := range volume.Sequences {
			c.Images[s] = filepath.Join(dir, "imagesTr", fmt.Sprintf("%s_%04d%s", name, chanOf[s], dj.FileEnding))
			if _, err := os.Stat(c.Images[s]); err != nil {
				return nil, fmt.Errorf("dataset %s: case %s: %w", dir, name, err)
			}
		}
		d.Train = append(d.Train, c)
	}
	if len(d.Train) == 0 {
		return nil, fmt.Errorf("dataset %s: no labels in labelsTr", dir)
	}
	if dj.NumTraining != 0 && dj.NumTraining != len(d.Train) {
		return nil, fmt.Errorf("dataset %s: numTraining is %d but labelsTr has %d cases", path, dj.NumTraining, len(d.Train))
	}
	return d, nil
}

// Sample is a case read for training: the preprocessed sequences and brain
// mask (1 mm, z-scored), the label on that grid, and the truth on the T1c
// grid for evaluation.
type Sample struct {
	Name  string
	Pre   *preprocess.Result
	Label *volume.Label // on Pre.Grid
	Truth *volume.Label // on Pre.ReferenceGrid
}

// LoadSample reads a case, preprocessing it first (and caching the result
// in its PreprocDir) when no cached result exists. Panics of the libraries
// underneath are returned as errors naming the case.
func LoadSample(ctx context.Context, c Case) (s *Sample, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("case %s: internal error: %v\n%s", c.Name, r, debug.Stack())
		}
	}()
	truth, err := nifti.ReadLabel(c.Label)
	if err != nil {
		return nil, fmt.Errorf("case %s: label: %w", c.Name, err)
	}
	var pre *preprocess.Result
	if _, err := os.Stat(filepath.Join(c.PreprocDir, preprocess.ManifestFile)); err == nil {
		if pre, err = preprocess.ReadResult(c.PreprocDir); err != nil {
			return nil, fmt.Errorf("case %s: %w", c.Name, err)
		}
	} else {
		var in preprocess.Inputs
		for _, seq := range volume.Sequences {
			if in.Images[seq], err = nifti.ReadVolume(c.Images[seq]); err != nil {
				return nil, fmt.Errorf("case %s: %w", c.Name, err)
			}
		}
		if pre, err = preprocess.Run(ctx, in, preprocess.DefaultOptions(), nil); err != nil {
			return nil, fmt.Errorf("case %s: %w", c.Name, err)
		}
		if err := preprocess.WriteResult(c.PreprocDir, pre); err != nil {
			return nil, fmt.Errorf("case %s: caching preprocessing: %w", c.Name, err)
		}
	}
	if !truth.Grid.SameGeometry(pre.ReferenceGrid, 1e-3) {
		return nil, fmt.Errorf("case %s: label %s is not on the T1c grid (%v, want %v)", c.Name, c.Label, truth.Dims, pre.ReferenceGrid.Dims)
	}
	return &Sample{Name: c.Name, Pre: pre, Truth: truth, Label: volume.ResampleLabel(truth, pre.Grid)}, nil
}

// cache holds the last few samples read (least recently used dropped), so
// that the data in memory stays bounded whatever the dataset's size.
type cache struct {
	mu    sync.Mutex
	size  int
	order []string
	data  map[string]*trainCase
	load  func(context.Context, Case) (*trainCase, error)
}

func newCache(size int) *cache {
	return &cache{size: size, data: map[string]*trainCase{}, load: loadTrainCase}
}

func (c *cache) get(ctx context.Context, cs Case) (*trainCase, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := cs.PreprocDir + "\x00" + cs.Label
	if s, ok := c.data[key]; ok {
		c.touch(key)
		return s, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := c.load(ctx, cs)
	if err != nil {
		return nil, err
	}
	for len(c.order) >= c.size {
		delete(c.data, c.order[0])
		c.order = c.order[1:]
	}
	c.data[key] = s
	c.order = append(c.order, key)
	return s, nil
}

func (c *cache) touch(key string) {
	for i, k := range c.order {
		if k == key {
			c.order = append(append(c.order[:i:i], c.order[i+1:]...), key)
			return
		}
	}
}

// errNoCases is returned when a split leaves a fold without cases.
var errNoCases = errors.New("no cases")
