//go:build !cgo

package kernels

// Without cgo the epilogue is the Go code itself.

func scatterDirect(yn []float32, ysp int, tmp []float32, ld, taps, q0, q1 int, g directGeom, fin finish) {
	scatterDirectGo(yn, ysp, tmp, ld, taps, q0, q1, g, fin)
}

func scatterWinograd(yn []float32, ysp int, m [4][]float32, cols, q0, q1 int, g winogradGeom, fin finish) {
	scatterWinogradGo(yn, ysp, m, cols, q0, q1, g, fin)
}

func winogradInputChannel(u [4][]float32, x []float32, rows, W, wp int, need []bool) {
	winogradInputChannelGo(u, x, rows, W, wp, need)
}

// haveCEpilogue reports whether the epilogue runs as C.
const haveCEpilogue = false
