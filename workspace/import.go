package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"metascope/job"
	"metascope/volume"
	"metascope/volume/nifti"
)

// Source is one input image: a NIfTI file, or a DICOM folder (SeriesUID
// picks the series when the folder holds more than one).
type Source struct {
	Path      string
	SeriesUID string
}

// SourceInfo is what LoadSource learnt about a source besides its voxels.
type SourceInfo struct {
	Format    string // "nifti" or "dicom"
	SeriesUID string
	// Class is the sequence the source looks like; Known is false when
	// nothing in it says. Reason explains the guess either way.
	Class  volume.Sequence
	Known  bool
	Reason string
	// Skipped lists files of a DICOM folder that could not be used, with
	// the reason (the series still loaded from the others).
	Skipped []string
}

// ClassName is Class as stored in case.json ("unknown" when not Known).
func (s SourceInfo) ClassName() string {
	if !s.Known {
		return "unknown"
	}
	return s.Class.String()
}

// LoadSource reads a NIfTI file or a DICOM series folder into a volume.
func LoadSource(src Source) (*volume.Volume, SourceInfo, error) {
	st, err := os.Stat(src.Path)
	if err != nil {
		return nil, SourceInfo{}, err
	}
	if st.IsDir() {
		return loadDICOM(src)
	}
	if src.SeriesUID != "" {
		return nil, SourceInfo{}, fmt.Errorf("%s: a series UID only applies to DICOM folders", src.Path)
	}
	v, err := nifti.ReadVolume(src.Path)
	if err != nil {
		if isDICOMFile(src.Path) {
			return nil, SourceInfo{}, fmt.Errorf("%s is one DICOM file; give the folder that holds its series", src.Path)
		}
		return nil, SourceInfo{}, err
	}
	info := SourceInfo{Format: "nifti"}
	info.Class, info.Known, info.Reason = ClassFromFileName(src.Path)
	return v, info, nil
}

// ClassFromFileName guesses a sequence from a NIfTI file name, the only hint
// such a file carries (BraTS-style names: t1, t1ce, t2, flair).
func ClassFromFileName(path string) (volume.Sequence, bool, string) {
	base := strings.ToLower(filepath.Base(path))
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".nii")
	tokens := strings.FieldsFunc(base, func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == ' ' })
	// Later tokens win ("sub-01_t1ce" -> t1ce); scan from the end, trying
	// each token joined with the one before it first ("t1_post", "t1-gd").
	for i := len(tokens) - 1; i >= 0; i-- {
		cands := []string{tokens[i]}
		if i > 0 {
			cands = []string{tokens[i-1] + tokens[i], tokens[i]}
		}
		for _, c := range cands {
			if s, err := volume.ParseSequence(c); err == nil {
				return s, true, fmt.Sprintf("NIfTI file name contains %q", c)
			}
		}
	}
	return 0, false, "NIfTI files carry no acquisition parameters and the file name names no sequence"
}

// ImportRequest describes a case to add.
type ImportRequest struct {
	Name     string
	Sources  map[volume.Sequence]Source // all four sequences
	By       string                     // who imports (for the audit log)
	Progress job.Progress               // may be nil
}

// AddCase imports a case from four sources (NIfTI files or DICOM folders).
func (w *Workspace) AddCase(name string, sources map[volume.Sequence]string) (*Case, error) {
	req := ImportRequest{Name: name, Sources: map[volume.Sequence]Source{}}
	for s, p := range sources {
		req.Sources[s] = Source{Path: p}
	}
	return w.Import(context.Background(), req)
}

// Import adds a case: each source is read once and written as
// images/<seq>.nii.gz (int16 when every value is a whole number in range,
// else float32), case.json and the first audit line are written, and the
// finished folder is renamed into cases/<name>. Any failure removes the
// temporary folder, so no half-imported case is ever visible.
func (w *Workspace) Import(ctx context.Context, req ImportRequest) (c *Case, err error) {
	if err := ValidName(req.Name); err != nil {
		return nil, fmt.Errorf("import: case %w", err)
	}
	var missing []string
	for _, s := range volume.Sequences {
		if src, ok := req.Sources[s]; !ok || src.Path == "" {
			missing = append(missing, s.Title())
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("import %q: missing sequences: %s (a case needs T1, T2, T1c and FLAIR)", req.Name, strings.Join(missing, ", "))
	}
	for s := range req.Sources {
		if s < 0 || int(s) >= len(volume.Sequences) {
			return nil, fmt.Errorf("import %q: unknown sequence %v", req.Name, s)
		}
	}
	final := w.caseDir(req.Name)
	if _, err := os.Stat(final); err == nil {
		return nil, fmt.Errorf("import %q: a case with that name already exists", req.Name)
	}
	tmp, err := os.MkdirTemp(filepath.Join(w.dir, casesDir), tempPrefix+req.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("import %q: %w", req.Name, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for _, d := range []string{"images", "labels", "candidates", "preproc"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			return nil, fmt.Errorf("import %q: %w", req.Name, err)
		}
	}
	rec := caseRecord{
		Format:    caseFormat,
		Version:   formatVersion,
		Name:      req.Name,
		Created:   time.Now().UTC(),
		Sequences: map[string]SequenceRecord{},
		Readers:   map[string]ReaderStatus{},
	}
	details := map[string]any{}
	for n, s := range volume.Sequences {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("import %q: %w", req.Name, err)
		}
		req.Progress.Report("import "+s.Title(), float64(n)/float64(len(volume.Sequences)))
		src := req.Sources[s]
		v, info, err := LoadSource(src)
		if err != nil {
			return nil, fmt.Errorf("import %q: %s: %w", req.Name, s.Title(), err)
		}
		rel := filepath.Join("images", s.String()+".nii.gz")
		if err := WriteImage(filepath.Join(tmp, rel), v); err != nil {
			return nil, fmt.Errorf("import %q: %s: %w", req.Name, s.Title(), err)
		}
		abs, aerr := filepath.Abs(src.Path)
		if aerr != nil {
			abs = src.Path
		}
		rec.Sequences[s.String()] = SequenceRecord{
			File:      rel,
			Source:    abs,
			Format:    info.Format,
			SeriesUID: info.SeriesUID,
			Class:     info.ClassName(),
			Reason:    info.Reason,
			Dims:      v.Dims,
			Spacing:   v.Spacing(),
			AxisCodes: v.Affine.AxisCodes(),
		}
		details[s.String()] = abs
		if len(info.Skipped) > 0 {
			details[s.String()+" skipped files"] = info.Skipped
		}
	}
	if err := writeJSON(filepath.Join(tmp, caseFile), rec); err != nil {
		return nil, fmt.Errorf("import %q: %w", req.Name, err)
	}
	if err := appendAudit(filepath.Join(tmp, auditFile), AuditEntry{Time: rec.Created, Who: req.By, Action: "import", Details: details}); err != nil {
		return nil, fmt.Errorf("import %q: %w", req.Name, err)
	}
	// Rename fails if another import created the case meanwhile (the target
	// would be a non-empty folder), which is what we want.
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("import %q: %w", req.Name, err)
	}
	if d, derr := os.Open(filepath.Dir(final)); derr == nil {
		d.Sync()
		d.Close()
	}
	req.Progress.Report("import", 1)
	if !containsString(w.rec.Cases, req.Name) {
		w.rec.Cases = append(w.rec.Cases, req.Name)
		if err := w.save(); err != nil {
			// The case is complete on disk and CaseNames finds it; only the
			// index is stale.
			return loadCaseAfterIndexError(final, req.Name, err)
		}
	}
	return loadCase(final, req.Name)
}

func loadCaseAfterIndexError(dir, name string, indexErr error) (*Case, error) {
	c, err := loadCase(dir, name)
	if err != nil {
		return nil, errors.Join(err, indexErr)
	}
	return c, fmt.Errorf("case %q imported, but updating workspace.json failed: %w", name, indexErr)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// WriteImage stores v as int16 when that loses nothing (scanner data
// usually is whole numbers), else as float32.
func WriteImage(path string, v *volume.Volume) error {
	if fitsInt16(v.Data) {
		return nifti.WriteVolumeInt16(path, v)
	}
	return nifti.WriteVolume(path, v)
}

func fitsInt16(data []float32) bool {
	for _, x := range data {
		if x != float32(math.Trunc(float64(x))) || x < math.MinInt16 || x > math.MaxInt16 {
			return false
		}
	}
	return true
}

// isDICOMFile reports whether path starts like a DICOM Part 10 file ("DICM"
// after the 128-byte preamble).
func isDICOMFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [132]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return string(b[128:]) == "DICM"
}
