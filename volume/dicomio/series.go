// Package dicomio imports DICOM series as volumes and writes volumes as
// DICOM series.
//
// Every file is untrusted: its structure is checked against its size before
// github.com/suyashkumar/dicom parses it (under recover), so a corrupt,
// truncated or non-DICOM file is reported with the reason and skipped, never
// crashes the program, and never makes it allocate more than the file holds.
// Slices are ordered along the slice normal, the affine comes from
// ImagePositionPatient, ImageOrientationPatient and PixelSpacing (DICOM's LPS
// turned into RAS+), and what cannot form one volume is refused with a reason.
//
// Pixel data: uncompressed (implicit, explicit, big endian, deflated, and
// bare data sets without file meta information), RLE and lossless JPEG
// (process 14, all predictors) in pure Go, baseline JPEG through image/jpeg.
// JPEG 2000 and JPEG-LS go through Debian's libopenjp2 and libcharls in
// builds with the dicomcodecs tag, and are refused with an error naming the
// transfer syntax otherwise.
package dicomio

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"metascope/volume"
)

// FileProblem is a file Scan could not use, with the reason.
type FileProblem struct {
	Path string
	Err  error
}

func (p FileProblem) Error() string { return fmt.Sprintf("%s: %v", p.Path, p.Err) }

// Series is one SeriesInstanceUID found by Scan: what identifies it, the
// sequence class guessed from it (with the reason), and its files.
type Series struct {
	UID              string
	Number           int // SeriesNumber where present, else 0
	Description      string
	Protocol         string
	Modality         string
	SequenceName     string
	ScanningSequence string
	ContrastAgent    string
	ImageType        []string
	RepetitionTime   float64 // ms, 0 when absent
	EchoTime         float64 // ms
	InversionTime    float64 // ms

	Class       volume.Sequence
	Known       bool // false: Class is meaningless, the user must choose
	ClassReason string

	Files          []string // in file-name order; Load sorts along the slice normal
	Rows, Cols     int
	PixelSpacing   [2]float64 // between rows, between columns (mm)
	SliceThickness float64
	Orientation    [6]float64 // ImageOrientationPatient of the first file
	TransferSyntax string
}

// ClassifyInput is what Classify reads from a series.
func (s Series) ClassifyInput() ClassifyInput {
	return ClassifyInput{
		Description:      s.Description,
		Protocol:         s.Protocol,
		SequenceName:     s.SequenceName,
		ScanningSequence: s.ScanningSequence,
		ContrastAgent:    s.ContrastAgent,
		ImageType:        s.ImageType,
		RepetitionTime:   s.RepetitionTime,
		EchoTime:         s.EchoTime,
		InversionTime:    s.InversionTime,
	}
}

// Scan walks root (a folder tree or one file), reads every file's header and
// groups the images by SeriesInstanceUID. Files that are unreadable,
// truncated, corrupt, not DICOM or not images are returned in problems with
// the reason and skipped. err is set only when root itself cannot be read.
func Scan(root string) (series []Series, problems []FileProblem, err error) {
	var paths []string
	walkErr := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			problems = append(problems, FileProblem{path, err})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			paths = append(paths, path)
		}
		return nil
	})
	if walkErr != nil {
		return nil, nil, fmt.Errorf("scan %s: %w", root, walkErr)
	}
	insts, errs := readAll(paths, readHeaderOnly)
	byUID := map[string][]*instance{}
	var order []string
	for i, in := range insts {
		if errs[i] != nil {
			problems = append(problems, FileProblem{paths[i], errs[i]})
			continue
		}
		if _, ok := byUID[in.seriesUID]; !ok {
			order = append(order, in.seriesUID)
		}
		byUID[in.seriesUID] = append(byUID[in.seriesUID], in)
	}
	for _, u := range order {
		series = append(series, newSeries(byUID[u]))
	}
	sort.SliceStable(series, func(a, b int) bool {
		if series[a].Number != series[b].Number {
			return series[a].Number < series[b].Number
		}
		return series[a].UID < series[b].UID
	})
	sort.Slice(problems, func(a, b int) bool { return problems[a].Path < problems[b].Path })
	return series, problems, nil
}

func newSeries(ins []*instance) Series {
	f := ins[0]
	s := Series{
		UID: f.seriesUID, Number: f.seriesNum, Description: f.desc, Protocol: f.protocol,
		Modality: f.modality, SequenceName: f.seqName, ScanningSequence: f.scanSeq,
		ContrastAgent: f.contrast, ImageType: f.imageType,
		RepetitionTime: f.tr, EchoTime: f.te, InversionTime: f.ti,
		Rows: f.rows, Cols: f.cols, SliceThickness: f.sliceThick, TransferSyntax: f.syntax,
	}
	if len(f.pixelSpacing) == 2 {
		s.PixelSpacing = [2]float64{f.pixelSpacing[0], f.pixelSpacing[1]}
	}
	if len(f.iop) == 6 {
		copy(s.Orientation[:], f.iop)
	}
	for _, in := range ins {
		s.Files = append(s.Files, in.path)
	}
	sort.Strings(s.Files)
	s.Class, s.Known, s.ClassReason = Classify(s.ClassifyInput())
	return s
}

type readMode int

const (
	readHeaderOnly readMode = iota
	readWithPixels
)

// readAll reads files on a few goroutines. In header-only mode the pixel
// bytes are dropped as soon as a file has been checked.
func readAll(paths []string, mode readMode) ([]*instance, []error) {
	insts := make([]*instance, len(paths))
	errs := make([]error, len(paths))
	workers := min(runtime.GOMAXPROCS(0), 8, max(len(paths), 1))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				in, err := readInstance(paths[i])
				if err == nil && !in.raw.hasPixels {
					err = errors.New("no pixel data: not an image (DICOMDIR, report or presentation state?)")
				}
				if err == nil {
					err = in.checkPixelFormat()
				}
				if err == nil && mode == readHeaderOnly {
					in.raw = nil
				}
				insts[i], errs[i] = in, err
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return insts, errs
}

// Load reads the series' files into one volume in RAS+ world coordinates. It
// refuses, with the reason, files that cannot form one volume: missing or
// duplicate slices, uneven spacing, mixed orientations or sizes, several
// echoes or time points, localisers, and unreadable pixel data.
func (s Series) Load() (*volume.Volume, error) {
	if len(s.Files) == 0 {
		return nil, fmt.Errorf("series %s has no files", s.UID)
	}
	insts, errs := readAll(s.Files, readWithPixels)
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("series %q: %s: %w", s.Description, s.Files[i], err)
		}
	}
	for _, in := range insts {
		if in.seriesUID != insts[0].seriesUID {
			return nil, fmt.Errorf("series %q: %s belongs to another series (%s)", s.Description, in.path, in.seriesUID)
		}
	}
	order, aff, err := stack(insts)
	if err != nil {
		return nil, fmt.Errorf("series %q (%s): %w", s.Description, s.UID, err)
	}
	g := volume.Grid{Dims: [3]int{insts[0].cols, insts[0].rows, len(order)}, Affine: aff}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("series %q: %w", s.Description, err)
	}
	v := volume.New(g)
	n := g.Dims[0] * g.Dims[1]
	var wg sync.WaitGroup
	perr := make([]error, len(order))
	sem := make(chan struct{}, min(runtime.GOMAXPROCS(0), 8))
	for k, idx := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			perr[k] = safeDecode(insts[idx], v.Data[k*n:(k+1)*n])
		}()
	}
	wg.Wait()
	for k, err := range perr {
		if err != nil {
			return nil, fmt.Errorf("series %q: %s: %w", s.Description, insts[order[k]].path, err)
		}
	}
	return v, nil
}

// describe lists up to three files for messages.
func describe(paths []string) string {
	if len(paths) > 3 {
		return strings.Join(paths[:3], ", ") + fmt.Sprintf(" and %d more", len(paths)-3)
	}
	return strings.Join(paths, ", ")
}

// safeDecode turns a panic in a decoder into an error for this file.
func safeDecode(in *instance, dst []float32) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error decoding pixels: %v", r)
		}
	}()
	return in.decodePixels(dst)
}
