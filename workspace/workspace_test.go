package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metascope/volume"
	"metascope/volume/dicomio"
	"metascope/volume/nifti"
)

// fourSources writes four small NIfTI images (different contents per
// sequence; T2 has fractional values) and returns them by sequence.
func fourSources(t *testing.T, dir string) (map[volume.Sequence]string, map[volume.Sequence]*volume.Volume) {
	t.Helper()
	g := volume.Grid{Dims: [3]int{12, 10, 8}, Affine: volume.Affine{{-0.9, 0, 0, 50}, {0, 0.9, 0.1, -40}, {0, -0.1, 3, 20}, {0, 0, 0, 1}}}
	paths := map[volume.Sequence]string{}
	vols := map[volume.Sequence]*volume.Volume{}
	names := map[volume.Sequence]string{volume.T1: "pat_t1.nii.gz", volume.T2: "pat_t2.nii", volume.T1c: "pat_t1ce.nii.gz", volume.FLAIR: "scan3.nii.gz"}
	for _, s := range volume.Sequences {
		v := volume.New(g)
		for i := range v.Data {
			v.Data[i] = float32((i*int(s+3))%500) - 20
			if s == volume.T2 {
				v.Data[i] += 0.25
			}
		}
		p := filepath.Join(dir, names[s])
		if err := nifti.WriteVolume(p, v); err != nil {
			t.Fatal(err)
		}
		paths[s], vols[s] = p, v
	}
	return paths, vols
}

func TestCreateOpenReadersSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Settings().Blinding {
		t.Fatal("blinding must be on by default")
	}
	if err := w.AddReader("Dr A", RoleReader); err != nil {
		t.Fatal(err)
	}
	if err := w.AddReader("Dr B", RoleAdjudicator); err != nil {
		t.Fatal(err)
	}
	if err := w.AddReader("../evil", RoleReader); err == nil {
		t.Fatal("accepted a reader name with a path separator")
	}
	if err := w.AddReader("consensus", RoleReader); err == nil {
		t.Fatal("accepted the reserved reader name")
	}
	if err := w.SetSettings(Settings{Blinding: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(dir); err == nil {
		t.Fatal("Create over an existing workspace succeeded")
	}
	w2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rs := w2.Readers()
	if len(rs) != 2 || rs[1] != (Reader{"Dr B", RoleAdjudicator}) || w2.Settings().Blinding {
		t.Fatalf("reopened: readers %v settings %v", rs, w2.Settings())
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotWorkspace) {
		t.Fatalf("Open of an empty folder: %v", err)
	}
	w3, err := OpenOrCreate(filepath.Join(t.TempDir(), "new"))
	if err != nil || w3.Settings().Blinding != true {
		t.Fatalf("OpenOrCreate: %v", err)
	}
}

func TestImportNIfTICase(t *testing.T) {
	src := t.TempDir()
	paths, vols := fourSources(t, src)
	w, err := Create(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	c, err := w.Import(t.Context(), ImportRequest{Name: "case-01", By: "admin", Sources: map[volume.Sequence]Source{
		volume.T1: {Path: paths[volume.T1]}, volume.T2: {Path: paths[volume.T2]},
		volume.T1c: {Path: paths[volume.T1c]}, volume.FLAIR: {Path: paths[volume.FLAIR]},
	}, Progress: func(stage string, done float64) { stages = append(stages, stage) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 5 {
		t.Errorf("progress stages %v", stages)
	}
	for _, s := range volume.Sequences {
		back, err := nifti.ReadVolume(c.ImagePath(s))
		if err != nil {
			t.Fatal(err)
		}
		if !back.SameGeometry(vols[s].Grid, 1e-5) {
			t.Fatalf("%v: geometry changed", s)
		}
		for i := range back.Data {
			if back.Data[i] != vols[s].Data[i] {
				t.Fatalf("%v voxel %d = %v; want %v", s, i, back.Data[i], vols[s].Data[i])
			}
		}
		h, _ := nifti.ReadHeader(c.ImagePath(s))
		wantType := "int16"
		if s == volume.T2 {
			wantType = "float32" // fractional values must not be rounded
		}
		if h.Datatype != wantType {
			t.Errorf("%v stored as %s; want %s", s, h.Datatype, wantType)
		}
	}
	rec, _ := c.Sequence(volume.T1c)
	if rec.Class != "t1c" || !strings.Contains(rec.Reason, "t1ce") || rec.Format != "nifti" || rec.Dims != [3]int{12, 10, 8} {
		t.Errorf("T1c record %+v", rec)
	}
	if rec, _ := c.Sequence(volume.FLAIR); rec.Class != "unknown" {
		t.Errorf("FLAIR from scan3.nii.gz classed %q", rec.Class)
	}
	if got := c.Sequences(); len(got) != 4 {
		t.Errorf("sequences %v", got)
	}
	log, err := c.AuditLog()
	if err != nil || len(log) != 1 || log[0].Action != "import" || log[0].Who != "admin" {
		t.Fatalf("audit %v %v", log, err)
	}
	cases, err := w.Cases()
	if err != nil || len(cases) != 1 || cases[0].Name() != "case-01" || cases[0].Status() != CaseNew {
		t.Fatalf("cases %v %v", cases, err)
	}
	w2, _ := Open(w.Dir())
	if names := w2.rec.Cases; len(names) != 1 || names[0] != "case-01" {
		t.Fatalf("workspace.json cases %v", names)
	}
	if _, err := w.AddCase("case-01", paths); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate import: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(w.Dir(), "cases"))
	if len(entries) != 1 {
		t.Fatalf("cases folder holds %v", entries)
	}
}

func TestFailedImportLeavesNothing(t *testing.T) {
	src := t.TempDir()
	paths, _ := fourSources(t, src)
	w, err := Create(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(src, "broken.nii.gz")
	os.WriteFile(bad, []byte("definitely not a NIfTI file, only text"), 0o644)
	for name, mutate := range map[string]func(map[volume.Sequence]string){
		"corrupt":  func(m map[volume.Sequence]string) { m[volume.FLAIR] = bad },
		"absent":   func(m map[volume.Sequence]string) { m[volume.T2] = filepath.Join(src, "nope.nii") },
		"missing":  func(m map[volume.Sequence]string) { delete(m, volume.T1) },
		"badname":  nil,
		"dotdot":   nil,
		"emptydir": func(m map[volume.Sequence]string) { m[volume.T1c] = t.TempDir() },
	} {
		m := map[volume.Sequence]string{}
		for k, v := range paths {
			m[k] = v
		}
		caseName := "c-" + name
		switch name {
		case "badname":
			caseName = "a/b"
		case "dotdot":
			caseName = ".."
		default:
			mutate(m)
		}
		if _, err := w.AddCase(caseName, m); err == nil {
			t.Errorf("%s: import succeeded", name)
		} else if name == "corrupt" && !strings.Contains(err.Error(), bad) {
			t.Errorf("corrupt: error %v does not name the file", err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(w.Dir(), "cases"))
	if len(entries) != 0 {
		t.Fatalf("failed imports left %v", entries)
	}
	if names, err := w.CaseNames(); err != nil || len(names) != 0 {
		t.Fatalf("cases %v %v", names, err)
	}
}

func TestStatusesPersistAndAudit(t *testing.T) {
	src := t.TempDir()
	paths, _ := fourSources(t, src)
	w, _ := Create(filepath.Join(t.TempDir(), "ws"))
	c, err := w.AddCase("p1", paths)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do   func() error
		want CaseStatus
	}{
		{func() error { return c.SetReaderStatus("Dr A", InProgress) }, CaseReading},
		{func() error { return c.SetReaderStatus("Dr B", InProgress) }, CaseReading},
		{func() error { return c.SetReaderStatus("Dr A", Submitted) }, CaseReading},
		{func() error { return c.SetReaderStatus("Dr B", Submitted) }, CaseRead},
		{func() error { return c.SetConsensus("Dr C", ConsensusInProgress) }, CaseInConsensus},
		{func() error { return c.SetConsensus("Dr C", ConsensusAgreed) }, CaseDone},
	}
	if err := c.SetReadyForTraining("admin", true); err == nil {
		t.Fatal("marked ready for training without consensus")
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatal(err)
		}
		if got := c.Status(); got != s.want {
			t.Fatalf("step %d: status %v; want %v", i, got, s.want)
		}
	}
	if err := c.SetReadyForTraining("admin", true); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReaderStatus("../x", InProgress); err == nil {
		t.Fatal("bad reader name accepted")
	}
	back, err := w.Case("p1")
	if err != nil {
		t.Fatal(err)
	}
	if back.Status() != CaseDone || !back.ReadyForTraining() || back.ReaderStatus("Dr A") != Submitted || back.ReaderStatus("nobody") != NotStarted {
		t.Fatalf("reloaded case lost state: %v %v", back.Status(), back.ReaderStatuses())
	}
	log, err := back.AuditLog()
	if err != nil || len(log) != 1+len(steps)+1 {
		t.Fatalf("audit has %d lines (%v); want %d", len(log), err, len(steps)+2)
	}
	if log[3].Who != "Dr A" || log[3].Details["to"] != "submitted" {
		t.Errorf("audit line %+v", log[3])
	}
	if c.Status().String() != "done" || InProgress.String() != "in progress" || RoleAdmin.String() != "admin" {
		t.Error("enum names")
	}
}

func TestBadJSONNamesTheFile(t *testing.T) {
	src := t.TempDir()
	paths, _ := fourSources(t, src)
	w, _ := Create(filepath.Join(t.TempDir(), "ws"))
	c, err := w.AddCase("p1", paths)
	if err != nil {
		t.Fatal(err)
	}
	caseJSON := filepath.Join(c.Dir(), "case.json")
	good, _ := os.ReadFile(caseJSON)
	for name, content := range map[string]string{
		"truncated":     string(good[:len(good)/2]),
		"unknown field": strings.Replace(string(good), `"consensus"`, `"surprise": 1, "consensus"`, 1),
		"bad enum":      strings.Replace(string(good), `"consensus": "not started"`, `"consensus": "maybe"`, 1),
		"other name":    strings.Replace(string(good), `"name": "p1"`, `"name": "p2"`, 1),
		"trailing":      string(good) + "{}",
	} {
		if content == string(good) {
			t.Fatalf("%s: replacement did not apply", name)
		}
		os.WriteFile(caseJSON, []byte(content), 0o644)
		if _, err := w.Case("p1"); err == nil || !strings.Contains(err.Error(), caseJSON) {
			t.Errorf("%s: error %v does not name %s", name, err, caseJSON)
		}
		if _, err := w.Cases(); err == nil {
			t.Errorf("%s: Cases() hid the broken case", name)
		}
	}
	wsJSON := filepath.Join(w.Dir(), "workspace.json")
	os.WriteFile(wsJSON, []byte(`{"format": "metascope-workspace", "version": 1, "readers": [{"name": "x", "role": "boss"}]}`), 0o644)
	if _, err := Open(w.Dir()); err == nil || !strings.Contains(err.Error(), wsJSON) {
		t.Errorf("bad role: %v", err)
	}
	os.WriteFile(wsJSON, []byte(`[1,2`), 0o644)
	if _, err := Open(w.Dir()); err == nil || !strings.Contains(err.Error(), wsJSON) {
		t.Errorf("garbage workspace.json: %v", err)
	}
}

func TestNamesAndPaths(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden", " pad", "consensus", "tab\tname", strings.Repeat("x", 101)} {
		if ValidName(bad) == nil {
			t.Errorf("ValidName(%q) accepted", bad)
		}
	}
	for _, good := range []string{"case-01", "Dr A", "patient_7.v2", "Müller"} {
		if err := ValidName(good); err != nil {
			t.Errorf("ValidName(%q): %v", good, err)
		}
	}
	c := &Case{name: "x", dir: "/ws/cases/x"}
	if p := c.LabelPath("Dr A"); p != "/ws/cases/x/labels/Dr A.nii.gz" {
		t.Errorf("label path %s", p)
	}
	if p := c.LabelPath("../../etc/passwd"); filepath.Dir(p) != "/ws/cases/x/labels" {
		t.Errorf("label path escaped: %s", p)
	}
	if c.ConsensusPath() != "/ws/cases/x/labels/consensus.nii.gz" || c.AuditPath() != "/ws/cases/x/audit.jsonl" ||
		c.CandidatesDir() != "/ws/cases/x/candidates" || c.PreprocDir() != "/ws/cases/x/preproc" ||
		c.ImagePath(volume.T1c) != "/ws/cases/x/images/t1c.nii.gz" {
		t.Error("case paths")
	}
}

func TestModels(t *testing.T) {
	w, _ := Create(filepath.Join(t.TempDir(), "ws"))
	for _, m := range []string{"b-model", "a-model"} {
		d, err := w.ModelDir(m)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "model.json"), []byte("{}"), 0o644)
	}
	os.MkdirAll(filepath.Join(w.Dir(), "models", "half-written"), 0o755)
	ms, err := w.Models()
	if err != nil || len(ms) != 2 || ms[0].Name != "a-model" || filepath.Base(ms[1].Manifest) != "model.json" {
		t.Fatalf("models %v %v", ms, err)
	}
	if _, err := w.ModelDir("../x"); err == nil {
		t.Fatal("bad model name accepted")
	}
}

func TestClassFromFileName(t *testing.T) {
	for _, c := range []struct {
		path  string
		want  volume.Sequence
		known bool
	}{
		{"/d/BraTS20_001_t1ce.nii.gz", volume.T1c, true},
		{"/d/BraTS20_001_t1.nii.gz", volume.T1, true},
		{"/d/sub-01_T2w.nii", volume.T2, true},
		{"/d/case 3 FLAIR.nii.gz", volume.FLAIR, true},
		{"/d/t1-post.nii.gz", volume.T1c, true},
		{"/d/sub-01_T1_gd.nii.gz", volume.T1c, true},
		{"/d/t2_flair.nii.gz", volume.FLAIR, true},
		{"/d/t1_mprage.nii.gz", volume.T1, true},
		{"/d/scan0003.nii.gz", 0, false},
	} {
		s, known, reason := ClassFromFileName(c.path)
		if known != c.known || (known && s != c.want) || reason == "" {
			t.Errorf("%s: %v %v %q; want %v %v", c.path, s, known, reason, c.want, c.known)
		}
	}
}

func TestPickSeries(t *testing.T) {
	series := []dicomio.Series{{UID: "1.2.3", Description: "AX T1", Files: []string{"a", "b"}}, {UID: "1.2.4", Description: "FLAIR"}}
	if _, err := PickSeries(Source{Path: "/dcm"}, series); err == nil || !strings.Contains(err.Error(), "1.2.3") || !strings.Contains(err.Error(), "2 series") {
		t.Errorf("two series, no UID: %v", err)
	}
	if s, err := PickSeries(Source{Path: "/dcm", SeriesUID: "1.2.4"}, series); err != nil || s.Description != "FLAIR" {
		t.Errorf("by UID: %v %v", s, err)
	}
	if _, err := PickSeries(Source{Path: "/dcm", SeriesUID: "9.9"}, series); err == nil || !strings.Contains(err.Error(), "9.9") {
		t.Errorf("unknown UID: %v", err)
	}
	if s, err := PickSeries(Source{Path: "/dcm"}, series[:1]); err != nil || s.UID != "1.2.3" {
		t.Errorf("single series: %v", err)
	}
	if _, err := PickSeries(Source{Path: "/dcm"}, nil); err == nil {
		t.Error("no series accepted")
	}
}
