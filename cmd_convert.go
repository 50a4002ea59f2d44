package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"metascope/volume/nifti"
	"metascope/workspace"
)

func cmdConvert(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	series := fs.String("series", "", "SeriesInstanceUID to convert when the DICOM folder holds several series")
	float32Out := fs.Bool("float32", false, "always write float32 (default: int16 when that loses nothing)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: metascope convert [--series UID] [--float32] IN OUT.nii.gz")
		fmt.Fprintln(stderr, "\nConverts a NIfTI file or a DICOM folder holding one series (or the series --series names)")
		fmt.Fprintln(stderr, "to NIfTI (.nii or .nii.gz) with matching sform and qform in RAS+ mm.")
		fs.PrintDefaults()
	}
	pos, code, ok := parseCommandLine(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		fs.Usage()
		return exitUsage
	}
	in, out := pos[0], pos[1]
	if l := strings.ToLower(out); !strings.HasSuffix(l, ".nii") && !strings.HasSuffix(l, ".nii.gz") {
		fmt.Fprintf(stderr, "metascope convert: output %s must end in .nii or .nii.gz\n", out)
		return exitUsage
	}
	v, info, err := workspace.LoadSource(workspace.Source{Path: in, SeriesUID: *series})
	if err != nil {
		return commandError(stderr, "convert", err)
	}
	for _, s := range info.Skipped {
		fmt.Fprintf(stderr, "metascope convert: skipped %s\n", s)
	}
	if *float32Out {
		err = nifti.WriteVolume(out, v)
	} else {
		err = workspace.WriteImage(out, v)
	}
	if err != nil {
		return commandError(stderr, "convert", err)
	}
	sp := v.Spacing()
	fmt.Fprintf(stdout, "wrote %s: %dx%dx%d voxels, %.3gx%.3gx%.3g mm, %s", out, v.Dims[0], v.Dims[1], v.Dims[2], sp[0], sp[1], sp[2], v.Affine.AxisCodes())
	if info.Format == "dicom" {
		fmt.Fprintf(stdout, ", series %s (%s: %s)", info.SeriesUID, info.ClassName(), info.Reason)
	}
	fmt.Fprintln(stdout)
	return exitOK
}
