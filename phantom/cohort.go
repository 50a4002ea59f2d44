package phantom

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"metascope/job"
)

// CohortOptions control GenerateCohort.
type CohortOptions struct {
	// Cases is the number of cases; Seed the cohort's seed (each case gets
	// its own seed derived from it and its index).
	Cases int
	Seed  int64
	// Base are the options of every case (its Seed is replaced).
	Base Options
	// ControlFraction is the share of cases generated without metastases.
	ControlFraction float64
	// TestFraction is the share of cases held out for testing; the study
	// held out 14 of 69.
	TestFraction float64
	// Workers is how many cases are generated at once (each case also
	// uses every CPU for its own rendering).
	Workers int
}

// DefaultCohortOptions is the study's cohort: 69 cases, 14 for testing.
func DefaultCohortOptions(size Size) CohortOptions {
	return CohortOptions{Cases: 69, Base: DefaultOptions(size), TestFraction: 14.0 / 69, Workers: 2}
}

// Validate names the wrong field.
func (o CohortOptions) Validate() error {
	if o.Cases < 1 || o.Cases > 100000 {
		return fmt.Errorf("phantom cohort options: Cases is %d; want 1 to 100000", o.Cases)
	}
	if !(o.ControlFraction >= 0 && o.ControlFraction <= 1) {
		return fmt.Errorf("phantom cohort options: ControlFraction is %g; want 0 to 1", o.ControlFraction)
	}
	if !(o.TestFraction >= 0 && o.TestFraction < 1) {
		return fmt.Errorf("phantom cohort options: TestFraction is %g; want 0 to below 1", o.TestFraction)
	}
	if o.Workers < 1 || o.Workers > 64 {
		return fmt.Errorf("phantom cohort options: Workers is %d; want 1 to 64", o.Workers)
	}
	if err := o.Base.Validate(); err != nil {
		return fmt.Errorf("phantom cohort options: Base: %w", err)
	}
	return nil
}

// Split names the part of a cohort a case belongs to.
type Split string

const (
	Train Split = "train"
	Test  Split = "test"
)

// Manifest is the cohort's manifest.json.
type Manifest struct {
	Note    string         `json:"note"`
	Seed    int64          `json:"seed"`
	Size    string         `json:"size"`
	Cases   []ManifestCase `json:"cases"`
	Train   []string       `json:"train"`
	Test    []string       `json:"test"`
	Lesions int            `json:"lesions"`
	// MeanLesionCM3 is the mean lesion volume over the cohort.
	MeanLesionCM3 float64 `json:"mean_lesion_cm3"`
}

// ManifestCase is one case of the manifest.
type ManifestCase struct {
	Name           string   `json:"name"`
	Dir            string   `json:"dir"` // relative to the manifest
	Seed           int64    `json:"seed"`
	Split          Split    `json:"split"`
	Control        bool     `json:"control"`
	FieldStrengthT float64  `json:"field_strength_t"`
	LabelVolumeCM3 float64  `json:"label_volume_cm3"`
	Lesions        []Lesion `json:"lesions"`
}

// ManifestFile is the manifest's name in the cohort folder.
const ManifestFile = "manifest.json"

// CaseName is the folder name of case i of a cohort.
func CaseName(i int) string { return fmt.Sprintf("case-%03d", i+1) }

// CaseSeed is the seed of case i of a cohort with the given seed.
func CaseSeed(cohortSeed int64, i int) int64 {
	r := rand.New(rand.NewPCG(uint64(cohortSeed), uint64(i)+0x9e3779b97f4a7c15))
	return int64(r.Uint64() >> 1)
}

// GenerateCohort generates and writes o.Cases cases, one folder per case
// directly under outDir (WriteCase), then manifest.json with the cases, their
// lesions and a train/test split drawn from the seed. Cases are generated in
// parallel; the result does not depend on the number of workers. progress
// may be nil; ctx cancels between cases.
func GenerateCohort(ctx context.Context, o CohortOptions, outDir string, progress job.Progress) (Manifest, error) {
	if err := o.Validate(); err != nil {
		return Manifest{}, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Manifest{}, fmt.Errorf("phantom: cohort: %w", err)
	}
	// Which cases are controls and which are held out are drawn up front.
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0xc0407))
	nControl := int(math.Round(float64(o.Cases) * o.ControlFraction))
	nTest := int(math.Round(float64(o.Cases) * o.TestFraction))
	perm := rng.Perm(o.Cases)
	control := map[int]bool{}
	for _, i := range perm[:nControl] {
		control[i] = true
	}
	perm = rng.Perm(o.Cases)
	test := map[int]bool{}
	for _, i := range perm[:nTest] {
		test[i] = true
	}

	cases := make([]ManifestCase, o.Cases)
	var mu sync.Mutex
	var firstErr error
	done := 0
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				mc, err := cohortCase(o, i, control[i], outDir)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				cases[i] = mc
				done++
				progress.Report("phantom", float64(done)/float64(o.Cases))
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < o.Cases; i++ {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return Manifest{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return Manifest{}, fmt.Errorf("phantom: cohort: %w", err)
	}
	m := Manifest{Note: dataNote, Seed: o.Seed, Size: o.Base.Size.String(), Cases: cases, Train: []string{}, Test: []string{}}
	total := 0.0
	for i := range cases {
		cases[i].Split = Train
		if test[i] {
			cases[i].Split = Test
			m.Test = append(m.Test, cases[i].Name)
		} else {
			m.Train = append(m.Train, cases[i].Name)
		}
		for _, l := range cases[i].Lesions {
			m.Lesions++
			total += l.VolumeCM3
		}
	}
	sort.Strings(m.Train)
	sort.Strings(m.Test)
	if m.Lesions > 0 {
		m.MeanLesionCM3 = total / float64(m.Lesions)
	}
	if err := writeJSON(filepath.Join(outDir, ManifestFile), m); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

func cohortCase(o CohortOptions, i int, control bool, outDir string) (ManifestCase, error) {
	opts := o.Base
	opts.Seed = CaseSeed(o.Seed, i)
	opts.NoMetastases = opts.NoMetastases || control
	name := CaseName(i)
	c, err := Generate(opts)
	if err != nil {
		return ManifestCase{}, fmt.Errorf("phantom: cohort %s: %w", name, err)
	}
	// Write beside the final folder and rename, so that a failure or a
	// cancel never leaves a half-written case under its real name.
	tmp := filepath.Join(outDir, "."+name+".tmp")
	final := filepath.Join(outDir, name)
	os.RemoveAll(tmp)
	if err := WriteCase(tmp, c); err != nil {
		os.RemoveAll(tmp)
		return ManifestCase{}, fmt.Errorf("phantom: cohort %s: %w", name, err)
	}
	if err := os.RemoveAll(final); err != nil {
		return ManifestCase{}, fmt.Errorf("phantom: cohort %s: %w", name, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return ManifestCase{}, fmt.Errorf("phantom: cohort %s: %w", name, err)
	}
	mc := ManifestCase{Name: name, Dir: name, Seed: opts.Seed, Control: opts.NoMetastases,
		FieldStrengthT: c.Params.FieldStrengthT, LabelVolumeCM3: c.Label.VolumeCM3(), Lesions: c.Lesions}
	if mc.Lesions == nil {
		mc.Lesions = []Lesion{}
	}
	return mc, nil
}

// ReadManifest reads a cohort's manifest.json (path to the file or its
// folder).
func ReadManifest(path string) (Manifest, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ManifestFile)
	}
	var m Manifest
	if err := readJSON(path, &m); err != nil {
		return Manifest{}, err
	}
	if len(m.Cases) == 0 {
		return Manifest{}, fmt.Errorf("phantom: %s: manifest lists no cases", path)
	}
	return m, nil
}
