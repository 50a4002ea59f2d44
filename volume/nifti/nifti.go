// Package nifti reads and writes NIfTI-1 and NIfTI-2 images (.nii, .nii.gz,
// .hdr/.img pairs, plain or gzipped, either byte order) as volume.Volume and
// volume.Label.
//
// The header layouts come from github.com/okieraised/gonii, but parsing,
// size checks, the affine and voxel decoding are done here, because gonii
// v0.9.0 is wrong or unsafe on each: its qform uses 1.01 where the standard
// has 1.0, it returns the sform rows even when sform_code is 0, it allocates
// whatever a header asks for (a 30000^3 header kills the process), it
// decompresses gzip without a bound, slices 512 bytes of in-memory input
// without a length check, and converts voxels to float64. (Measured on a
// qform-only file: gonii's affine is all zeros and its qform matrix has 0.99
// and 1.01 where the rotation has 1.) Writing is done here as well (header + data
// with encoding/binary and a parallel gzip), because gonii's writer drops the
// affine set on it and does not write atomically.
//
// Every read is bounded: the header's dims and datatype must fit in what the
// file (or, for gzip, what deflate could expand it to) holds before the voxel
// array is allocated, and any panic is turned into an error naming the file.
package nifti

import (
	"fmt"

	"metascope/volume"
)

// Header is what a NIfTI header says, with the affine resolved by the NIfTI
// precedence rules.
type Header struct {
	Version      int    // 1 or 2
	Dims         [3]int // first three dimensions
	AllDims      []int  // dim[1..dim[0]]
	Datatype     string // "int16", "float32", "rgb24", ...
	DatatypeCode int    // NIfTI datatype code
	Bitpix       int    // bits per voxel as the header states it
	Pixdim       [3]float64
	Units        string // spatial units: "mm", "m", "um" or "unknown"
	// Affine maps voxel indices to RAS+ mm (NIfTI world space is RAS+).
	Affine       volume.Affine
	AffineSource string // "sform", "qform" or "pixdim"
	QformCode    int
	SformCode    int
	SclSlope     float64
	SclInter     float64
	Description  string
	ByteOrder    string // "little" or "big"
	VoxOffset    int64
	HeaderFile   string
	DataFile     string // differs from HeaderFile for .hdr/.img pairs
	// Readable says whether ReadVolume can load the image; Problem says why
	// not when it cannot (4D, RGB, complex, ...).
	Readable bool
	Problem  string
}

// ReadHeader reads and interprets the header of path without reading voxels.
func ReadHeader(path string) (hdr Header, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("nifti: %s: internal error on this input: %v", path, p)
		}
	}()
	s, err := openSource(path)
	if err != nil {
		return Header{}, fmt.Errorf("nifti: %w", withPath(path, err))
	}
	h := s.hdr
	out := Header{
		Version:      h.version,
		Dims:         h.dims3(),
		Datatype:     h.datatypeName(),
		DatatypeCode: h.datatype,
		Bitpix:       h.bitpix,
		Pixdim:       [3]float64{h.pixdim[1], h.pixdim[2], h.pixdim[3]},
		Units:        h.units(),
		QformCode:    h.qformCode,
		SformCode:    h.sformCode,
		SclSlope:     h.sclSlope,
		SclInter:     h.sclInter,
		Description:  h.descrip,
		ByteOrder:    "little",
		VoxOffset:    int64(h.voxOffset),
		HeaderFile:   s.hdrPath,
		DataFile:     s.dataPath,
	}
	if h.order.String() == "BigEndian" {
		out.ByteOrder = "big"
	}
	for a := 1; a <= h.ndim() && a <= 7; a++ {
		out.AllDims = append(out.AllDims, int(h.dim[a]))
	}
	aff, src, affErr := h.bestAffine()
	out.Affine, out.AffineSource = aff, src
	var problem error
	if dt, ok := datatypes[h.datatype]; !ok {
		problem = fmt.Errorf("unknown datatype code %d", h.datatype)
	} else if !dt.supported {
		problem = fmt.Errorf("datatype %s is not supported", dt.name)
	} else if _, err := h.checkDims(); err != nil {
		problem = err
	} else if affErr != nil {
		problem = affErr
	} else if _, err := h.dataOffset(); err != nil {
		problem = err
	}
	out.Readable = problem == nil
	if problem != nil {
		out.Problem = problem.Error()
	}
	return out, nil
}

// ReadVolume reads a scalar NIfTI image of any integer or float datatype as
// float32, with scl_slope/scl_inter applied. 4D files are accepted only when
// they hold a single volume.
func ReadVolume(path string) (*volume.Volume, error) {
	v, _, err := load(path)
	return v, err
}

// ReadLabel reads a label map. The (scaled) values must be whole numbers in
// 0..255, whatever the stored datatype; anything else is refused, naming the
// first offending voxel.
func ReadLabel(path string) (*volume.Label, error) {
	v, _, err := load(path)
	if err != nil {
		return nil, err
	}
	l := &volume.Label{Grid: v.Grid, Data: make([]uint8, len(v.Data))}
	for idx, x := range v.Data {
		if x < 0 || x > 255 || x != float32(int(x)) {
			i, j, k := v.Coords(idx)
			return nil, fmt.Errorf("nifti: %s: not a label map: voxel (%d,%d,%d) is %v; labels must be whole numbers 0..255", path, i, j, k, x)
		}
		l.Data[idx] = uint8(x)
	}
	return l, nil
}
