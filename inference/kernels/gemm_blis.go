//go:build cgo && !noblis

package kernels

/*
#cgo LDFLAGS: -lblis
// Declared here rather than through blis.h, whose Debian location depends on
// the threading flavour installed. dim_t is 64-bit, the CBLAS integer 32-bit
// in Debian's build (checked by TestBLISMatchesGonum).
void bli_thread_set_num_threads(long n);
const char* bli_arch_string(int id);
int bli_arch_query_id(void);
void cblas_sgemm(int order, int transA, int transB, int m, int n, int k,
	float alpha, const float *a, int lda, const float *b, int ldb,
	float beta, float *c, int ldc);
static void msSgemm(int ta, int tb, int m, int n, int k, float alpha,
	const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
	cblas_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
*/
import "C"

import (
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/cpu"
)

var blisInit sync.Once

// BLISGemm calls BLIS through its CBLAS layer. Each call runs on one thread:
// the convolution splits its work over goroutines itself, because BLIS's
// OpenMP threads spin and fight Go's scheduler for the same cores.
type BLISGemm struct{}

func defaultGemm() Gemm { return BLISGemm{} }

// HaveBLIS reports whether this build links BLIS.
const HaveBLIS = true

// blisSetup runs before the first BLIS call. BLIS 0.9 (Debian 12) chooses its
// kernels lazily on that call, from BLIS_ARCH_TYPE or else from CPUID; its
// CPUID table knows Intel's AVX-512 parts but not AMD's (Zen 4 and 5 fall
// back to the "generic" C kernels: 40 GFLOP/s on SGEMM 2048^3 here, against
// about 220 with the "skx" kernels). Any CPU with the AVX-512 subsets the skx
// kernels use can run them, so on such a CPU, and only if the user has not
// chosen, the program chooses skx itself. Go's os.Setenv reaches C's
// environment when cgo is linked, which is what BLIS reads.
func blisSetup() {
	blisInit.Do(func() {
		if _, set := os.LookupEnv("BLIS_ARCH_TYPE"); !set &&
			cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL {
			os.Setenv("BLIS_ARCH_TYPE", "skx")
		}
		C.bli_thread_set_num_threads(1)
	})
}

// Name implements Gemm; it names the kernel set BLIS chose for this CPU.
func (BLISGemm) Name() string {
	blisSetup()
	return "BLIS (" + C.GoString(C.bli_arch_string(C.bli_arch_query_id())) + ")"
}

// Sgemm implements Gemm.
func (BLISGemm) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	blisSetup()
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	ta, tb := C.int(0), C.int(0)
	if transA {
		ta = 1
	}
	if transB {
		tb = 1
	}
	var pa, pb *C.float
	if k > 0 {
		pa = (*C.float)(unsafe.Pointer(&a[0]))
		pb = (*C.float)(unsafe.Pointer(&b[0]))
	}
	C.msSgemm(ta, tb, C.int(m), C.int(n), C.int(k), C.float(alpha), pa, C.int(lda), pb, C.int(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.int(ldc))
}
