package workspace

import (
	"fmt"
	"strings"

	"metascope/volume"
	"metascope/volume/dicomio"
)

// ScanDICOM lists the series in a DICOM folder and the files that could not
// be used (with the reason).
func ScanDICOM(dir string) ([]dicomio.Series, []dicomio.FileProblem, error) {
	return dicomio.Scan(dir)
}

// PickSeries chooses the series src names: the one with src.SeriesUID, or
// the only one. Several series without a UID is an error listing them.
func PickSeries(src Source, series []dicomio.Series) (dicomio.Series, error) {
	if src.SeriesUID != "" {
		for _, s := range series {
			if s.UID == src.SeriesUID {
				return s, nil
			}
		}
		return dicomio.Series{}, fmt.Errorf("%s: no series with UID %s (found %s)", src.Path, src.SeriesUID, listSeries(series))
	}
	switch len(series) {
	case 0:
		return dicomio.Series{}, fmt.Errorf("%s: no DICOM image series found", src.Path)
	case 1:
		return series[0], nil
	}
	return dicomio.Series{}, fmt.Errorf("%s: holds %d series; choose one by UID: %s", src.Path, len(series), listSeries(series))
}

func listSeries(series []dicomio.Series) string {
	var parts []string
	for _, s := range series {
		parts = append(parts, fmt.Sprintf("%s (%q, %d files)", s.UID, s.Description, len(s.Files)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func loadDICOM(src Source) (*volume.Volume, SourceInfo, error) {
	series, problems, err := dicomio.Scan(src.Path)
	if err != nil {
		return nil, SourceInfo{}, err
	}
	s, err := PickSeries(src, series)
	if err != nil {
		if len(series) == 0 && len(problems) > 0 {
			err = fmt.Errorf("%w; first unreadable file: %v", err, problems[0])
		}
		return nil, SourceInfo{}, err
	}
	v, err := s.Load()
	if err != nil {
		return nil, SourceInfo{}, fmt.Errorf("%s: %w", src.Path, err)
	}
	info := SourceInfo{Format: "dicom", SeriesUID: s.UID, Class: s.Class, Known: s.Known, Reason: s.ClassReason}
	for _, p := range problems {
		info.Skipped = append(info.Skipped, p.Error())
	}
	return v, info, nil
}
