package app

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmokeRealWindow starts the real binary on a small demo workspace in a
// real window (under Xvfb: the Makefile's test target runs go test inside
// xvfb-run), waits for the case to appear, takes a screenshot with
// ImageMagick's import and checks that it shows an image. It is skipped
// without a display. METASCOPE_SCREENSHOT names a file to keep the PNG in.
func TestSmokeRealWindow(t *testing.T) {
	if os.Getenv("DISPLAY") == "" {
		t.Skip("no DISPLAY: run under xvfb-run (make test) for the real-window smoke test")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	for _, tool := range []string{"import", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "metascope")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var log bytes.Buffer
	cmd := exec.Command(bin, "demo", "--workspace", filepath.Join(tmp, "ws"), "--cases", "1", "--size", "small", "--ai=false")
	cmd.Env = append(os.Environ(), "HOME="+tmp, "XDG_CONFIG_HOME="+filepath.Join(tmp, "config"))
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	// The window title names the case once it is loaded.
	deadline := time.Now().Add(120 * time.Second)
	for {
		out, _ := exec.Command("xdotool", "search", "--name", "Metascope — demo-01").Output()
		if len(bytes.TrimSpace(out)) > 0 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("metascope exited early (%v):\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no window showing demo-01 after 120 s:\n%s", log.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // let the views paint
	shot := filepath.Join(tmp, "screen.png")
	if out, err := exec.Command("import", "-window", "root", shot).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	greys, bright := imageStats(img)
	t.Logf("screenshot %v: %d grey levels, %.1f %% bright pixels", img.Bounds().Size(), greys, 100*bright)
	if greys < 64 || bright < 0.03 {
		t.Errorf("screenshot looks blank: %d grey levels, %.1f %% bright", greys, 100*bright)
	}
	if keep := os.Getenv("METASCOPE_SCREENSHOT"); keep != "" {
		b, _ := os.ReadFile(shot)
		if err := os.WriteFile(keep, b, 0o644); err != nil {
			t.Error(err)
		}
	}
	// Paint with the real mouse: the brush key, then a drag across the
	// middle of the T1c axial view (top left of the default layout). The
	// stroke must reach the reader's journal.
	journal := filepath.Join(tmp, "ws", "cases", "demo-01", "labels", "Dr A.journal")
	before := fileSize(journal)
	xdo := [][]string{{"key", "b"}, {"mousemove", "470", "290"}, {"mousedown", "1"}}
	for i := 1; i <= 8; i++ {
		xdo = append(xdo, []string{"mousemove", fmt.Sprint(470 + 4*i), fmt.Sprint(290 + 2*i)})
	}
	xdo = append(xdo, []string{"mouseup", "1"})
	for _, a := range xdo {
		if out, err := exec.Command("xdotool", a...).CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v\n%s", a, err, out)
		}
		time.Sleep(30 * time.Millisecond)
	}
	for end := time.Now().Add(10 * time.Second); fileSize(journal) <= before && time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
	}
	if after := fileSize(journal); after <= before {
		t.Errorf("a mouse stroke did not reach the journal %s (%d bytes before, %d after)", journal, before, after)
	}
	if strings.Contains(log.String(), "panic") {
		t.Errorf("metascope logged a panic:\n%s", log.String())
	}
}

// imageStats counts the distinct luminance levels of img and the fraction
// of pixels brighter than mid-grey: a rendered MR image has many levels, a
// blank window a handful.
func imageStats(img image.Image) (levels int, bright float64) {
	var seen [256]bool
	b := img.Bounds()
	n, br := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (299*r + 587*g + 114*bl) / 1000 >> 8
			seen[l] = true
			n++
			if l > 128 {
				br++
			}
		}
	}
	for _, s := range seen {
		if s {
			levels++
		}
	}
	return levels, float64(br) / float64(n)
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}
