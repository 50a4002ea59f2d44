package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"

	"metascope/volume"
	"metascope/volume/nifti"
	"metascope/workspace"
)

// infoImage is the geometry and intensities of one loaded image.
type infoImage struct {
	Dims      [3]int        `json:"dims"`
	Spacing   [3]float64    `json:"spacing_mm"`
	Affine    volume.Affine `json:"affine"`
	AxisCodes string        `json:"axis_codes"`
	Range     [2]float64    `json:"intensity_range"`
}

type infoNIfTI struct {
	Path         string  `json:"path"`
	Format       string  `json:"format"`
	Version      int     `json:"nifti_version"`
	AllDims      []int   `json:"all_dims"`
	Datatype     string  `json:"datatype"`
	AffineSource string  `json:"affine_source"`
	QformCode    int     `json:"qform_code"`
	SformCode    int     `json:"sform_code"`
	SclSlope     float64 `json:"scl_slope"`
	SclInter     float64 `json:"scl_inter"`
	Units        string  `json:"units"`
	Description  string  `json:"description"`
	ByteOrder    string  `json:"byte_order"`
	DataFile     string  `json:"data_file"`
	Readable     bool    `json:"readable"`
	Problem      string  `json:"problem,omitempty"`
	Class        string  `json:"sequence_class"`
	ClassReason  string  `json:"class_reason"`
	// Geometry from the header, present even when the voxels cannot be
	// read; Range only when they can.
	Dims      [3]int        `json:"dims"`
	Spacing   [3]float64    `json:"spacing_mm"`
	Affine    volume.Affine `json:"affine"`
	AxisCodes string        `json:"axis_codes"`
	Range     *[2]float64   `json:"intensity_range,omitempty"`
}

type infoSeries struct {
	UID            string     `json:"series_uid"`
	Number         int        `json:"series_number"`
	Description    string     `json:"description"`
	Protocol       string     `json:"protocol,omitempty"`
	Files          int        `json:"files"`
	TransferSyntax string     `json:"transfer_syntax,omitempty"`
	Class          string     `json:"sequence_class"`
	ClassReason    string     `json:"class_reason"`
	TR             float64    `json:"repetition_time_ms,omitempty"`
	TE             float64    `json:"echo_time_ms,omitempty"`
	TI             float64    `json:"inversion_time_ms,omitempty"`
	Image          *infoImage `json:"image,omitempty"`
	Problem        string     `json:"problem,omitempty"`
}

type infoDICOM struct {
	Path     string       `json:"path"`
	Format   string       `json:"format"`
	Series   []infoSeries `json:"series"`
	Skipped  []string     `json:"skipped_files,omitempty"`
	Problems int          `json:"skipped_count"`
}

func imageInfo(v *volume.Volume) *infoImage {
	lo, hi := v.Range()
	return &infoImage{
		Dims:      v.Dims,
		Spacing:   roundArr(v.Spacing()),
		Affine:    v.Affine,
		AxisCodes: v.Affine.AxisCodes(),
		Range:     [2]float64{float64(lo), float64(hi)},
	}
}

// roundArr trims float noise (1.0000000000000002) from derived values.
func roundArr(a [3]float64) [3]float64 {
	for i := range a {
		a[i] = math.Round(a[i]*1e9) / 1e9
	}
	return a
}

func cmdInfo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("info", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: metascope info PATH")
		fmt.Fprintln(stderr, "\nPrints, as JSON, what a NIfTI file (.nii, .nii.gz, .hdr/.img) or a DICOM folder holds:")
		fmt.Fprintln(stderr, "dims, spacing, affine (voxel to RAS+ mm), axis codes, datatype, intensity range, and")
		fmt.Fprintln(stderr, "for each DICOM series its sequence class (T1, T2, T1c, FLAIR or unknown) and why.")
		fs.PrintDefaults()
	}
	pos, code, ok := parseCommandLine(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	path := pos[0]
	st, err := os.Stat(path)
	if err != nil {
		return commandError(stderr, "info", err)
	}
	var out any
	if st.IsDir() {
		out, err = dicomInfo(path)
	} else {
		out, err = niftiInfo(path)
	}
	if err != nil {
		return commandError(stderr, "info", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return commandError(stderr, "info", err)
	}
	return exitOK
}

func niftiInfo(path string) (*infoNIfTI, error) {
	h, err := nifti.ReadHeader(path)
	if err != nil {
		return nil, err
	}
	info := &infoNIfTI{
		Path: path, Format: "nifti", Version: h.Version, AllDims: h.AllDims, Datatype: h.Datatype,
		AffineSource: h.AffineSource, QformCode: h.QformCode, SformCode: h.SformCode,
		SclSlope: h.SclSlope, SclInter: h.SclInter, Units: h.Units, Description: h.Description,
		ByteOrder: h.ByteOrder, DataFile: h.DataFile, Readable: h.Readable, Problem: h.Problem,
		Dims: h.Dims, Spacing: roundArr(h.Affine.Spacing()), Affine: h.Affine, AxisCodes: h.Affine.AxisCodes(),
	}
	if h.Readable {
		v, err := nifti.ReadVolume(path)
		if err != nil {
			info.Readable, info.Problem = false, err.Error()
		} else {
			lo, hi := v.Range()
			info.Range = &[2]float64{float64(lo), float64(hi)}
		}
	}
	class, known, reason := workspace.ClassFromFileName(path)
	info.Class, info.ClassReason = "unknown", reason
	if known {
		info.Class = class.String()
	}
	return info, nil
}

func dicomInfo(dir string) (*infoDICOM, error) {
	series, problems, err := workspace.ScanDICOM(dir)
	if err != nil {
		return nil, err
	}
	out := &infoDICOM{Path: dir, Format: "dicom", Series: []infoSeries{}, Problems: len(problems)}
	for i, p := range problems {
		if i == 20 {
			out.Skipped = append(out.Skipped, fmt.Sprintf("... and %d more", len(problems)-20))
			break
		}
		out.Skipped = append(out.Skipped, p.Error())
	}
	for _, s := range series {
		is := infoSeries{
			UID: s.UID, Number: s.Number, Description: s.Description, Protocol: s.Protocol,
			Files: len(s.Files), TransferSyntax: s.TransferSyntax,
			Class: "unknown", ClassReason: s.ClassReason,
			TR: s.RepetitionTime, TE: s.EchoTime, TI: s.InversionTime,
		}
		if s.Known {
			is.Class = s.Class.String()
		}
		if v, err := s.Load(); err != nil {
			is.Problem = err.Error()
		} else {
			is.Image = imageInfo(v)
		}
		out.Series = append(out.Series, is)
	}
	return out, nil
}
