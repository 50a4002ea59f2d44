package app

import (
	"errors"
	"image/color"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/theme"

	"metascope/assets"
	"metascope/workspace"
)

// Run opens the workstation on the workspace in dir (creating the demo
// workspace first when opts.Demo is set) and returns when the window
// closes. It is the only caller of fyne's app.New: tests build the
// workstation on Fyne's test app with NewWorkstation instead.
func Run(dir string, opts Options) error {
	if err := CheckDisplay(); err != nil {
		return err
	}
	var ws *workspace.Workspace
	var err error
	if opts.Demo != nil {
		ws, err = PrepareDemo(dir)
	} else {
		ws, err = workspace.Open(dir)
	}
	if err != nil {
		return err
	}
	a := fyneapp.NewWithID("org.metascope.workstation")
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon()))
	a.Settings().SetTheme(darkTheme{theme.DefaultTheme()})
	w, err := NewWorkstation(a, ws, opts)
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(ws.Dir())
	if err := saveState(appState{LastWorkspace: abs, LastReader: w.Reader()}); err != nil {
		fyne.LogError("remember workspace", err)
	}
	// Ctrl+C in the terminal (or a polite kill) saves like closing the
	// window does; the journal covers anything harsher.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			fyne.Do(func() {
				w.Close()
				a.Quit()
			})
		}
	}()
	w.Window().SetMaster()
	w.Window().ShowAndRun()
	w.Close()
	if abs, err := filepath.Abs(w.ws.Dir()); err == nil {
		if err := saveState(appState{LastWorkspace: abs, LastReader: w.reader, LastCase: w.lastCase}); err != nil {
			fyne.LogError("remember workspace", err)
		}
	}
	return nil
}

// darkTheme is Fyne's theme, always in its dark variant: images are read
// on a dark surround, as on every radiology workstation.
type darkTheme struct{ fyne.Theme }

func (t darkTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, theme.VariantDark)
}

// ErrNoDisplay says there is no desktop to open a window on.
var ErrNoDisplay = errors.New("no display (DISPLAY and WAYLAND_DISPLAY are unset): the workstation needs a desktop session; the headless commands work without one ('metascope help')")

// CheckDisplay reports ErrNoDisplay on X11/Wayland systems without a
// display, where GLFW would otherwise panic.
func CheckDisplay() error {
	switch runtime.GOOS {
	case "darwin", "windows", "android", "ios", "js":
		return nil
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return ErrNoDisplay
	}
	return nil
}
