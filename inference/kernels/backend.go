// Package kernels is the compute seam of Metascope's network: a dense SGEMM
// (the one routine whose speed matters) and the 3D convolution built on it.
//
// The model code calls only the Backend interface, so that a GPU backend can
// be added later without touching it. The CPU backend comes in two builds:
// with cgo (the default wherever cgo is on) it calls BLIS, which picks its
// kernels from the CPU's features at run time, so the user never sets an
// environment variable; without cgo, or with the build tag "noblis", it uses
// gonum's pure-Go SGEMM. Both give the same results to float32 rounding.
// With cgo the element-wise loops around the SGEMMs (elementwise.go) run as
// vectorised C, bit for bit the Go code that the pure-Go build runs.
//
// Why BLIS and not OpenBLAS: Debian's OpenBLAS 0.3.21 misdetects this
// machine's CPU ("Prescott", about 33 GFLOP/s on SGEMM 2048^3) unless the
// user exports OPENBLAS_CORETYPE before the process starts; the library reads
// it in its constructor, before Go's main runs, so a program cannot fix it for
// the user. BLIS needs nothing.
package kernels

import (
	"fmt"
	"runtime"
)

// Gemm is the dense matrix-multiply seam: row-major single precision.
type Gemm interface {
	// Name says which library does the work, for benchmarks and logs.
	Name() string
	// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
	// op(A) m x k, op(B) k x n, C m x n, with leading dimensions lda, ldb, ldc.
	// It must be safe to call from several goroutines at once.
	Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// Shape5 is the shape of a batch of multi-channel volumes in NCDHW order:
// batch, channels, depth, height, width (width fastest in memory).
type Shape5 [5]int

// Len is the number of elements.
func (s Shape5) Len() int { return s[0] * s[1] * s[2] * s[3] * s[4] }

// Spatial is the number of voxels of one channel.
func (s Shape5) Spatial() int { return s[2] * s[3] * s[4] }

// Validate reports a non-positive dimension.
func (s Shape5) Validate() error {
	for i, d := range s {
		if d <= 0 {
			return fmt.Errorf("shape %v: dimension %d is %d", s, i, d)
		}
	}
	return nil
}

// ConvOut is the output shape of a valid (unpadded) convolution with cout
// filters of size k^3 and stride 1 on an input of shape x.
func ConvOut(x Shape5, cout, k int) Shape5 {
	return Shape5{x[0], cout, x[2] - k + 1, x[3] - k + 1, x[4] - k + 1}
}

// Backend runs the heavy layer operations of the network. Shapes are NCDHW,
// weights are [cout][cin][k][k][k], convolutions are valid (no padding) with
// stride 1, as in DeepMedic.
type Backend interface {
	Name() string
	// Conv3D sets y = conv(x, w) + bias (bias may be nil). y has ConvOut's shape.
	Conv3D(y []float32, x []float32, xs Shape5, w []float32, cout, k int, bias []float32)
	// Conv3DBackwardData sets dx = the gradient of the loss with respect to x,
	// given dy, the gradient with respect to y.
	Conv3DBackwardData(dx []float32, xs Shape5, dy []float32, w []float32, cout, k int)
	// Conv3DBackwardFilter sets dw (and db when not nil) to the gradient of the
	// loss with respect to the weights (and bias).
	Conv3DBackwardFilter(dw, db []float32, x []float32, xs Shape5, dy []float32, cout, k int)
	// Gemm is the dense kernel, for the 1x1x1 layers and callers outside.
	Gemm() Gemm
}

// PReLUConv is implemented by backends that can apply a PReLU (per-channel
// slopes alpha, y = x for x > 0, alpha[c]*x otherwise) as they write a
// convolution's outputs, saving inference a pass over every layer's
// output. The result equals Conv3D followed by nn.PReLU bit for bit.
type PReLUConv interface {
	Conv3DPReLU(y []float32, x []float32, xs Shape5, w []float32, cout, k int, bias, alpha []float32)
}

// RowConv is implemented by backends that can compute a convolution (with
// an optional fused PReLU, alpha nil for none) on some output rows only.
// Inference needs the network's output inside the brain alone, and a
// tile's corners are mostly air: on a full brain about a sixth of the
// rows of every layer are never read by anything the user sees.
//
// want[z*Ho+y] says whether output row (z, y) of every sample and channel
// is wanted (Ho = the output's height; nil wants all). Wanted rows equal
// Conv3DPReLU's bit for bit; the others are set to 0.
type RowConv interface {
	Conv3DRows(y []float32, x []float32, xs Shape5, w []float32, cout, k int, bias, alpha []float32, want []bool)
}

// Default returns the fastest backend of this build: BLIS with cgo, pure Go
// without, using every CPU Go may use.
func Default() Backend { return NewCPU(defaultGemm(), runtime.GOMAXPROCS(0)) }

// PureGo returns the backend on gonum's pure-Go SGEMM, whatever the build.
func PureGo() Backend { return NewCPU(GonumGemm{}, runtime.GOMAXPROCS(0)) }
