//go:build !cgo || noblis

package kernels

func defaultGemm() Gemm { return GonumGemm{} }

// HaveBLIS reports whether this build links BLIS.
const HaveBLIS = false
