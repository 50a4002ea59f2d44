package bias

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// sharpener deconvolves the histogram of log intensities with a Gaussian
// (N3/N4's model: the bias field blurs the true intensity histogram) and
// maps each log intensity v to E[u | v], the expected sharp intensity.
type sharpener struct {
	bins        int
	fwhm        float64
	wienerNoise float64
	fft         *fourier.FFT
	padded      int
}

func newSharpener(bins int, fwhm, noise float64) *sharpener {
	padded := 1 << int(math.Ceil(math.Log2(float64(bins)))+1)
	return &sharpener{bins: bins, fwhm: fwhm, wienerNoise: noise, fft: fourier.NewFFT(padded), padded: padded}
}

// sharpen returns E[u|v] for every masked value of v (others are left 0).
func (s *sharpener) sharpen(v []float64, mask []bool) []float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, x := range v {
		if mask[i] {
			lo = math.Min(lo, x)
			hi = math.Max(hi, x)
		}
	}
	out := make([]float64, len(v))
	if !(hi > lo) {
		copy(out, v)
		return out
	}
	nb := s.bins
	slope := (hi - lo) / float64(nb-1)
	h := make([]float64, nb)
	for i, x := range v {
		if !mask[i] {
			continue
		}
		c := (x - lo) / slope
		b := int(c)
		f := c - float64(b)
		if b >= nb-1 {
			h[nb-1]++
			continue
		}
		h[b] += 1 - f
		h[b+1] += f
	}
	P := s.padded
	off := (P - nb) / 2
	V := make([]float64, P)
	copy(V[off:], h)
	Vf := s.fft.Coefficients(nil, V)

	// Gaussian of the given FWHM (in bins), centred on 0 with wrap-around.
	sf := s.fwhm / slope
	expF := 4 * math.Ln2 / (sf * sf)
	scale := 2 * math.Sqrt(math.Ln2/math.Pi) / sf
	F := make([]float64, P)
	F[0] = scale
	for n := 1; n <= P/2; n++ {
		g := scale * math.Exp(-float64(n*n)*expF)
		F[n] = g
		F[P-n] = g
	}
	Ff := s.fft.Coefficients(nil, F)

	// Wiener deconvolution of the histogram.
	Uf := make([]complex128, len(Vf))
	for n := range Vf {
		c := cmplx.Conj(Ff[n])
		Uf[n] = Vf[n] * c / (c*Ff[n] + complex(s.wienerNoise, 0))
	}
	U := s.fft.Sequence(nil, Uf)
	for n := range U {
		U[n] = math.Max(U[n]/float64(P), 0)
	}
	// E[u|v] = (G * (u U)) / (G * U).
	num := make([]float64, P)
	for n := range num {
		num[n] = (lo + float64(n-off)*slope) * U[n]
	}
	numF := s.fft.Coefficients(nil, num)
	denF := s.fft.Coefficients(nil, U)
	for n := range numF {
		numF[n] *= Ff[n]
		denF[n] *= Ff[n]
	}
	numS := s.fft.Sequence(nil, numF)
	denS := s.fft.Sequence(nil, denF)
	E := make([]float64, P)
	for n := range E {
		if math.Abs(denS[n]) > 1e-12 {
			E[n] = numS[n] / denS[n]
		}
	}
	for i, x := range v {
		if !mask[i] {
			continue
		}
		c := (x - lo) / slope
		b := int(c)
		f := c - float64(b)
		if b >= nb-1 {
			out[i] = E[off+nb-1]
			continue
		}
		out[i] = E[off+b]*(1-f) + E[off+b+1]*f
	}
	return out
}
