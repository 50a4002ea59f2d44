//go:build tools

// Package main's tools.go pins the design card's libraries in go.mod while the
// packages that use them are being written; it is never compiled.
package main

import (
	_ "fyne.io/fyne/v2"
	_ "fyne.io/fyne/v2/app"
	_ "fyne.io/fyne/v2/test"
	_ "github.com/okieraised/gonii"
	_ "github.com/suyashkumar/dicom"
	_ "gonum.org/v1/gonum/mat"
	_ "gonum.org/v1/plot"
	_ "gorgonia.org/gorgonia"
	_ "gorgonia.org/tensor"
)
