package preprocess

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"metascope/job"
	"metascope/volume"
	"metascope/volume/nifti"
)

// CaseFiles are a case's four image files, indexed by volume.Sequence.
type CaseFiles [4]string

// FolderFiles are the images of a case folder: t1.nii.gz, t2.nii.gz,
// t1c.nii.gz and flair.nii.gz inside dir.
func FolderFiles(dir string) CaseFiles {
	var f CaseFiles
	for _, s := range volume.Sequences {
		f[s] = filepath.Join(dir, ImageFile(s))
	}
	return f
}

// ReadInputs reads the four images; an error names the sequence and the
// file.
func ReadInputs(files CaseFiles) (Inputs, error) {
	var in Inputs
	for _, s := range volume.Sequences {
		if files[s] == "" {
			return Inputs{}, fmt.Errorf("%s: no file given", s.Title())
		}
		v, err := nifti.ReadVolume(files[s])
		if err != nil {
			return Inputs{}, fmt.Errorf("%s: %w", s.Title(), err)
		}
		in.Images[s] = v
	}
	return in, nil
}

// RunCase is `metascope preprocess` and the workstation's Align sequences:
// it reads the case's four images, preprocesses them and writes the result
// into outDir (a case's preproc/ folder). Nothing is written when ctx is
// cancelled or a step fails.
func RunCase(ctx context.Context, files CaseFiles, outDir string, opts Options, progress job.Progress) (*Result, error) {
	if outDir == "" {
		return nil, errors.New("preprocess: no output folder")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	progress.Report("reading images", 0)
	in, err := ReadInputs(files)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := Run(ctx, in, opts, progress.Sub(0.02, 0.98))
	if err != nil {
		return nil, err
	}
	progress.Report("writing "+outDir, 0.98)
	if err := WriteResult(outDir, res); err != nil {
		return nil, err
	}
	progress.Report("done", 1)
	return res, nil
}

// ReadOrRunCase reads the preprocessed result in outDir, or, when outDir
// holds none, preprocesses the case into it with RunCase. ran tells which.
func ReadOrRunCase(ctx context.Context, files CaseFiles, outDir string, opts Options, progress job.Progress) (res *Result, ran bool, err error) {
	_, err = os.Stat(filepath.Join(outDir, ManifestFile))
	switch {
	case err == nil:
		progress.Report("reading "+outDir, 0)
		res, err = ReadResult(outDir)
		return res, false, err
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("preprocess: %w", err)
	}
	res, err = RunCase(ctx, files, outDir, opts, progress)
	return res, true, err
}
