//go:build cgo

package kernels

/*
#cgo CFLAGS: -O3
#include <string.h>
#include <stdint.h>

// The loops of epilogue.go's scatterDirectGo and scatterWinogradGo, the
// same operations in the same order (no multiply is followed by an add, so
// no contraction into FMA can change a result), vectorised by the compiler
// for the CPU it runs on (target_clones picks at load time).

static inline float prelu_sel(float v, float f0, float f1) {
	uint32_t u;
	memcpy(&u, &v, 4);
	return v * ((u >> 31) ? f1 : f0);
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void msWinogradInput(float *u0, float *u1, float *u2, float *u3, const float *x,
		long rows, long W, long wp, const unsigned char *need) {
	long full = (W - 2) / 2;
	if (full > wp) full = wp;
	if (full < 0) full = 0;
	for (long r = 0; r < rows; r++) {
		const float *row = x + r * W;
		float *restrict a0 = u0 + r * wp, *restrict a1 = u1 + r * wp;
		float *restrict a2 = u2 + r * wp, *restrict a3 = u3 + r * wp;
		if (need && !need[r]) {
			memset(a0, 0, wp * sizeof(float));
			memset(a1, 0, wp * sizeof(float));
			memset(a2, 0, wp * sizeof(float));
			memset(a3, 0, wp * sizeof(float));
			continue;
		}
		for (long p = 0; p < full; p++) {
			float d0 = row[2 * p], d1 = row[2 * p + 1], d2 = row[2 * p + 2], d3 = row[2 * p + 3];
			a0[p] = d0 - d2;
			a1[p] = d1 + d2;
			a2[p] = d2 - d1;
			a3[p] = d1 - d3;
		}
		for (long p = full; p < wp; p++) {
			float d[4] = {0, 0, 0, 0};
			for (long t = 0; t < 4 && 2 * p + t < W; t++) d[t] = row[2 * p + t];
			a0[p] = d[0] - d[2];
			a1[p] = d[1] + d[2];
			a2[p] = d[2] - d[1];
			a3[p] = d[1] - d[3];
		}
	}
}

// finish_row writes dst[i] = finish(src[i]) for one filter's run.
static inline void finish_row(float *restrict dst, const float *restrict src, long nv,
		const float *bias, const float *f0, const float *f1, long o) {
	float b = bias ? bias[o] : 0.0f;
	if (f0) {
		float g0 = f0[o], g1 = f1[o];
		for (long i = 0; i < nv; i++) dst[i] = prelu_sel(src[i] + b, g0, g1);
	} else if (bias) {
		for (long i = 0; i < nv; i++) dst[i] = src[i] + b;
	} else {
		memcpy(dst, src, nv * sizeof(float));
	}
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void msScatterDirect(float *yn, long ysp, const float *tmp, long ld, long taps, long q0, long q1,
		long H, long W, long Do, long Ho, long Wo, long cout,
		const float *bias, const float *f0, const float *f1, float *sum) {
	long HW = H * W;
	for (long q = q0; q < q1;) {
		long z = q / HW, r = q % HW, yy = r / W, xx = r % W;
		long run = W - xx;
		if (q1 - q < run) run = q1 - q;
		if (z < Do && yy < Ho && xx < Wo) {
			long nv = Wo - xx;
			if (run < nv) nv = run;
			for (long o = 0; o < cout; o++) {
				float *dst = yn + o * ysp + (z * Ho + yy) * Wo + xx;
				const float *src = tmp + o * taps * ld + (q - q0);
				if (taps == 3) {
					// The common case (3x3x3, packed), in one pass.
					const float *s1 = src + ld + 1, *s2 = src + 2 * ld + 2;
					float b = bias ? bias[o] : 0.0f;
					if (f0) {
						float g0 = f0[o], g1 = f1[o];
						for (long i = 0; i < nv; i++) dst[i] = prelu_sel(src[i] + s1[i] + s2[i] + b, g0, g1);
					} else if (bias) {
						for (long i = 0; i < nv; i++) dst[i] = src[i] + s1[i] + s2[i] + b;
					} else {
						for (long i = 0; i < nv; i++) dst[i] = src[i] + s1[i] + s2[i];
					}
					continue;
				} else if (taps > 1) {
					for (long i = 0; i < nv; i++) sum[i] = src[i];
					for (long c = 1; c < taps; c++) {
						const float *sc = src + c * ld + c;
						for (long i = 0; i < nv; i++) sum[i] += sc[i];
					}
					src = sum;
				}
				finish_row(dst, src, nv, bias, f0, f1, o);
			}
		}
		q += run;
	}
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void msScatterWinograd(float *yn, long ysp, const float *m0, const float *m1, const float *m2,
		const float *m3, long cols, long q0, long q1, long wp, long H, long Do, long Ho, long Wo,
		long cout, const float *bias, const float *f0, const float *f1) {
	for (long q = q0; q < q1;) {
		long r = q / wp, p = q % wp;
		long run = wp - p;
		if (q1 - q < run) run = q1 - q;
		long z = r / H, yy = r % H;
		if (z < Do && yy < Ho) {
			// Pairs with both outputs inside the row, then the last one.
			long full = (Wo - 2 * p) / 2;
			if (run < full) full = run;
			for (long o = 0; o < cout; o++) {
				float b = bias ? bias[o] : 0.0f;
				float *restrict dst = yn + o * ysp + (z * Ho + yy) * Wo;
				long base = o * cols + q - q0;
				const float *a0 = m0 + base, *a1 = m1 + base, *a2 = m2 + base, *a3 = m3 + base;
				float *restrict d = dst + 2 * p;
				if (f0) {
					float g0 = f0[o], g1 = f1[o];
					for (long t = 0; t < full; t++) {
						d[2 * t] = prelu_sel(a0[t] + a1[t] + a2[t] + b, g0, g1);
						d[2 * t + 1] = prelu_sel(a1[t] - a2[t] - a3[t] + b, g0, g1);
					}
				} else {
					for (long t = 0; t < full; t++) {
						d[2 * t] = a0[t] + a1[t] + a2[t] + b;
						d[2 * t + 1] = a1[t] - a2[t] - a3[t] + b;
					}
				}
				for (long t = full; t < run; t++) {
					long x0 = 2 * (p + t);
					float v0 = a0[t] + a1[t] + a2[t] + b;
					float v1 = a1[t] - a2[t] - a3[t] + b;
					if (f0) {
						v0 = prelu_sel(v0, f0[o], f1[o]);
						v1 = prelu_sel(v1, f0[o], f1[o]);
					}
					dst[x0] = v0;
					if (x0 + 1 < Wo) dst[x0 + 1] = v1;
				}
			}
		}
		q += run;
	}
}
*/
import "C"

import "unsafe"

// haveCEpilogue reports whether the epilogue runs as C.
const haveCEpilogue = true

// ptr is the address of s's first element for C, or nil for an empty s.
func ptr(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

// scatterDirect is scatterDirectGo in C. The Go slices it passes are
// checked to hold every element the loops touch, so the C code cannot
// write outside them.
func scatterDirect(yn []float32, ysp int, tmp []float32, ld, taps, q0, q1 int, g directGeom, fin finish) {
	if q0 >= q1 {
		return
	}
	checkFinish(fin, g.cout)
	// The last output touched is of channel cout-1 at the last voxel.
	_ = yn[(g.cout-1)*ysp+g.Do*g.Ho*g.Wo-1]
	_ = tmp[(g.cout*taps-1)*ld+q1-q0-1+taps-1]
	var sum []float32
	if taps > 1 && taps != 3 { // the C code sums 3 taps in registers
		sum = make([]float32, g.W) // a run is at most one row
	}
	C.msScatterDirect(ptr(yn), C.long(ysp), ptr(tmp), C.long(ld), C.long(taps), C.long(q0), C.long(q1),
		C.long(g.H), C.long(g.W), C.long(g.Do), C.long(g.Ho), C.long(g.Wo), C.long(g.cout),
		ptr(fin.bias), ptr(fin.f0), ptr(fin.f1), ptr(sum))
}

// scatterWinograd is scatterWinogradGo in C, with the same checks.
func scatterWinograd(yn []float32, ysp int, m [4][]float32, cols, q0, q1 int, g winogradGeom, fin finish) {
	if q0 >= q1 {
		return
	}
	checkFinish(fin, g.cout)
	_ = yn[(g.cout-1)*ysp+g.Do*g.Ho*g.Wo-1]
	for _, mi := range m {
		_ = mi[(g.cout-1)*cols+q1-q0-1]
	}
	C.msScatterWinograd(ptr(yn), C.long(ysp), ptr(m[0]), ptr(m[1]), ptr(m[2]), ptr(m[3]),
		C.long(cols), C.long(q0), C.long(q1), C.long(g.wp), C.long(g.H), C.long(g.Do), C.long(g.Ho),
		C.long(g.Wo), C.long(g.cout), ptr(fin.bias), ptr(fin.f0), ptr(fin.f1))
}

// winogradInputChannel is winogradInputChannelGo in C, with the same
// checks.
func winogradInputChannel(u [4][]float32, x []float32, rows, W, wp int, need []bool) {
	if rows == 0 || wp == 0 {
		return
	}
	_ = x[rows*W-1]
	for _, ui := range u {
		_ = ui[rows*wp-1]
	}
	var pn *C.uchar
	if need != nil {
		_ = need[rows-1]
		pn = (*C.uchar)(unsafe.Pointer(&need[0]))
	}
	C.msWinogradInput(ptr(u[0]), ptr(u[1]), ptr(u[2]), ptr(u[3]), ptr(x), C.long(rows), C.long(W), C.long(wp), pn)
}

// checkFinish panics (as Go's bounds checks would) when fin has fewer
// channels than the C loops read.
func checkFinish(fin finish, cout int) {
	for _, s := range [][]float32{fin.bias, fin.f0, fin.f1} {
		if s != nil {
			_ = s[cout-1]
		}
	}
	if (fin.f0 == nil) != (fin.f1 == nil) {
		panic("kernels: PReLU factors half set")
	}
}
