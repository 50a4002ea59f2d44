package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// GonumGemm is gonum's pure-Go SGEMM (assembly SAXPY kernels, its own
// goroutines): the fallback when cgo is off.
type GonumGemm struct{}

// Name implements Gemm.
func (GonumGemm) Name() string { return "gonum (pure Go)" }

// Sgemm implements Gemm.
func (GonumGemm) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	gonum.Implementation{}.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
