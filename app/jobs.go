package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"metascope/job"
)

// jobBar runs one long job at a time (preprocessing, inference, training) off
// the UI goroutine and shows its progress in the status bar. Every widget
// change goes through fyne.Do, so a job never blocks painting.
type jobBar struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	name   string

	label  *widget.Label
	bar    *widget.ProgressBar
	stop   *widget.Button
	box    *fyne.Container
	onDone func(name string, err error)
}

func newJobBar(onDone func(name string, err error)) *jobBar {
	j := &jobBar{
		label:  widget.NewLabel(""),
		bar:    widget.NewProgressBar(),
		onDone: onDone,
	}
	j.stop = widget.NewButton("Cancel", j.Cancel)
	j.box = container.NewHBox(j.label, container.NewGridWrap(fyne.NewSize(160, j.bar.MinSize().Height), j.bar), j.stop)
	j.box.Hide()
	return j
}

// Busy reports whether a job is running.
func (j *jobBar) Busy() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cancel != nil
}

// Start runs work in a goroutine. It refuses a second job while one runs.
func (j *jobBar) Start(name string, work func(ctx context.Context, progress job.Progress) error) error {
	j.mu.Lock()
	if j.cancel != nil {
		running := j.name
		j.mu.Unlock()
		return fmt.Errorf("%s is still running; wait for it or cancel it first", running)
	}
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel, j.name = cancel, name
	j.mu.Unlock()

	fyne.Do(func() {
		j.label.SetText(name)
		j.bar.SetValue(0)
		j.box.Show()
	})
	// Progress arrives from worker goroutines, possibly thousands of times a
	// second; hand at most ~20 updates a second to the UI thread.
	var last time.Time
	var lastMu sync.Mutex
	progress := func(stage string, done float64) {
		lastMu.Lock()
		now := time.Now()
		if now.Sub(last) < 50*time.Millisecond && done < 1 {
			lastMu.Unlock()
			return
		}
		last = now
		lastMu.Unlock()
		fyne.Do(func() {
			j.label.SetText(name + ": " + stage)
			j.bar.SetValue(done)
		})
	}
	go func() {
		err := work(ctx, progress)
		j.mu.Lock()
		j.cancel, j.name = nil, ""
		j.mu.Unlock()
		cancel()
		fyne.Do(func() {
			j.box.Hide()
			if j.onDone != nil {
				j.onDone(name, err)
			}
		})
	}()
	return nil
}

// Cancel asks the running job to stop.
func (j *jobBar) Cancel() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cancel != nil {
		j.cancel()
	}
}
