package kernels

import "fmt"

// checkGemm panics, as gonum does, when a slice is too short for the
// matrix it should hold: C code must never read past a Go slice.
func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	need := func(name string, s []float32, r, cols, ld int) {
		if r == 0 || cols == 0 {
			return
		}
		if ld < cols || len(s) < (r-1)*ld+cols {
			panic(fmt.Sprintf("kernels: sgemm %s: %dx%d with ld %d needs %d elements, have %d", name, r, cols, ld, (r-1)*ld+cols, len(s)))
		}
	}
	need("A", a, ar, ac, lda)
	need("B", b, br, bc, ldb)
	need("C", c, m, n, ldc)
}
