package phantom

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"metascope/volume"
)

// model is the composited head on the model grid: the T1c grid padded on
// every side so that misaligned sequences still find anatomy at their edges.
type model struct {
	grid   volume.Grid
	pad    int
	ch     [4]*volume.Volume // noise-free signal per sequence, before scale and bias
	label  *volume.Label     // crops on the T1c grid
	tissue *volume.Label
	brain  *volume.Label
}

// buildModel composites the head at every model voxel.
func buildModel(head headModel, t1c volume.Grid, h float64, tab *[numTissues][4]float32, lesions []*lesionModel) *model {
	pad := int(math.Ceil(7 / h))
	g := volume.Grid{Affine: t1c.Affine.Mul(volume.Diagonal([3]float64{1, 1, 1},
		[3]float64{-float64(pad), -float64(pad), -float64(pad)}))}
	for a := 0; a < 3; a++ {
		g.Dims[a] = t1c.Dims[a] + 2*pad
	}
	m := &model{grid: g, pad: pad,
		label: volume.NewLabel(t1c), tissue: volume.NewLabel(t1c), brain: volume.NewLabel(t1c)}
	for s := range m.ch {
		m.ch[s] = volume.New(g)
	}
	parallel(g.Dims[2], func(k int) {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				ti, tj, tk := i-pad, j-pad, k-pad
				// World points come from the T1c affine itself so that the
				// label agrees bit for bit with LesionShape.Contains applied
				// to T1c voxel centres.
				p := t1c.Affine.Apply([3]float64{float64(ti), float64(tj), float64(tk)})
				c, brain := head.sample(p, h, tab, lesions)
				idx := g.Index(i, j, k)
				for s := 0; s < 4; s++ {
					m.ch[s].Data[idx] = c.v[s]
				}
				if t1c.Contains(ti, tj, tk) {
					o := t1c.Index(ti, tj, tk)
					m.tissue.Data[o] = uint8(c.cls)
					if c.cls.IsMetastasis() {
						m.label.Data[o] = 1
					}
					if brain {
						m.brain.Data[o] = 1
					}
				}
			}
		}
	})
	return m
}

// parallel runs f(k) for k in [0, n) on all CPUs; results must not depend on
// the split.
func parallel(n int, f func(k int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	next := make(chan int, n)
	for k := 0; k < n; k++ {
		next <- k
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				f(k)
			}
		}()
	}
	wg.Wait()
}

// acquisition holds the drawn grids and misalignments of the four sequences.
type acquisition struct {
	grids [4]volume.Grid
	world [4]volume.Affine // T1c world -> sequence world
	bias  [4]biasParams
}

type biasParams struct {
	amp   float64
	freq  [3]float64
	phase [3]float64
	coef  [5]float64
}

func drawAcquisition(rng *rand.Rand, o Options, p *Params, t1c volume.Grid, fovCentre [3]float64) *acquisition {
	acq := &acquisition{}
	t1cVV := t1c.VoxelVolumeMM3()
	for _, s := range volume.Sequences {
		w := volume.Identity()
		g := t1c
		p.SliceThicknessMM[s] = o.T1cSpacingMM
		if s != volume.T1c {
			var rot, shift [3]float64
			for a := 0; a < 3; a++ {
				p.RotationDeg[s][a] = (2*rng.Float64() - 1) * o.MaxRotationDeg
				p.ShiftMM[s][a] = (2*rng.Float64() - 1) * o.MaxShiftMM
				rot[a] = p.RotationDeg[s][a] * math.Pi / 180
				shift[a] = p.ShiftMM[s][a]
			}
			w = volume.RigidTransform(rot, shift, fovCentre)
			// The scanner frame of this sequence: its own FOV, centred where
			// the operator centred it (on the head, as for the T1c).
			centre := fovCentre
			if rng.Float64() < o.ThickSliceProb {
				p.ThickSlice[s] = true
				th := o.SliceThicknessMM[0] + rng.Float64()*(o.SliceThicknessMM[1]-o.SliceThicknessMM[0])
				th = math.Round(th*2) / 2
				p.SliceThicknessMM[s] = th
				sp := [3]float64{o.InPlaneMM, o.InPlaneMM, th}
				dims := [3]int{
					int(math.Round((o.FOVMM[0] + 24) / o.InPlaneMM)),
					int(math.Round((o.FOVMM[1] + 8) / o.InPlaneMM)),
					int(math.Round(o.FOVMM[2] * 0.92 / th)),
				}
				g = centredGrid(dims, sp, centre)
			} else {
				g = centredGrid(t1c.Dims, t1c.Spacing(), centre)
			}
			// Drawn only when asked, so that the default stream (and what a
			// seed means) does not change.
			if o.StorageFlipProb > 0 && rng.Float64() < o.StorageFlipProb {
				flip := volume.Affine{
					{-1, 0, 0, float64(g.Dims[0] - 1)},
					{0, -1, 0, float64(g.Dims[1] - 1)},
					{0, 0, 1, 0},
					{0, 0, 0, 1},
				}
				g.Affine = g.Affine.Mul(flip)
			}
		}
		acq.grids[s] = g
		acq.world[s] = w
		vv := g.VoxelVolumeMM3()
		p.SNR[s] = o.SNR * p.FieldStrengthT / 1.5 * math.Sqrt(vv/t1cVV)
		p.Scale[s] = 300 + 1700*rng.Float64()
		p.NoiseSigma[s] = p.Scale[s] * p.Contrast[WM][s] / p.SNR[s]
		b := &acq.bias[s]
		b.amp = o.BiasAmplitude
		for a := 0; a < 3; a++ {
			b.freq[a] = 0.3 + 0.5*rng.Float64() // cycles per FOV
			b.phase[a] = rng.Float64() * 2 * math.Pi
		}
		for i := range b.coef {
			b.coef[i] = 2*rng.Float64() - 1
		}
	}
	return acq
}

func centredGrid(dims [3]int, sp [3]float64, centre [3]float64) volume.Grid {
	var origin [3]float64
	for a := 0; a < 3; a++ {
		origin[a] = centre[a] - float64(dims[a]-1)*sp[a]/2
	}
	return volume.Grid{Dims: dims, Affine: volume.Diagonal(sp, origin)}
}

// biasField fills the smooth multiplicative field of one sequence on its own
// grid: low-frequency cosines along the scanner axes and their products,
// normalised so that it spans exactly [1-amp, 1+amp] over the grid.
func biasField(g volume.Grid, b biasParams) *volume.Volume {
	out := volume.New(g)
	var f [3][]float64
	var h [3][]float64
	for a := 0; a < 3; a++ {
		f[a] = make([]float64, g.Dims[a])
		h[a] = make([]float64, g.Dims[a])
		for i := range f[a] {
			t := float64(i) / float64(max(1, g.Dims[a]-1))
			f[a][i] = math.Cos(2*math.Pi*b.freq[a]*t + b.phase[a])
			h[a][i] = math.Sin(2*math.Pi*b.freq[a]*0.7*t + b.phase[a]*1.3)
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	vals := make([]float64, g.Len())
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			o := g.Index(0, j, k)
			for i := 0; i < g.Dims[0]; i++ {
				v := b.coef[0]*f[0][i] + b.coef[1]*f[1][j] + b.coef[2]*f[2][k] +
					b.coef[3]*h[0][i]*h[1][j] + b.coef[4]*h[1][j]*h[2][k]
				vals[o+i] = v
				lo = math.Min(lo, v)
				hi = math.Max(hi, v)
			}
		}
	}
	mid, half := (lo+hi)/2, (hi-lo)/2
	for i, v := range vals {
		x := 1.0
		if half > 0 {
			x = 1 + b.amp*(v-mid)/half
		}
		out.Data[i] = float32(x)
	}
	return out
}

// render acquires sequence s: each voxel centre is mapped through the
// inverse misalignment into T1c world and the model is read there (averaged
// over the slice thickness for thick slices), then scaled, multiplied by the
// bias field and given Rician noise.
func (m *model) render(s volume.Sequence, acq *acquisition, p *Params, noiseSeed uint64, keepClean bool) (img, bias, clean *volume.Volume) {
	g := acq.grids[s]
	out := volume.New(g)
	if keepClean {
		clean = volume.New(g)
	}
	bias = biasField(g, acq.bias[s])
	winv, _ := acq.world[s].Inverse()
	minv, _ := m.grid.Affine.Inverse()
	vox := minv.Mul(winv).Mul(g.Affine) // sequence voxel -> model voxel
	src := m.ch[s]
	nsub := 1
	if th := g.Spacing()[2]; th > m.grid.Spacing()[0]*1.01 {
		nsub = int(math.Ceil(th / m.grid.Spacing()[0] * 1.5))
	}
	scale := float32(p.Scale[s])
	sigma := p.NoiseSigma[s]
	parallel(g.Dims[2], func(k int) {
		rng := rand.New(rand.NewPCG(noiseSeed, uint64(s)<<32|uint64(k)))
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				var sum float32
				for t := 0; t < nsub; t++ {
					kk := float64(k) + (float64(t)+0.5)/float64(nsub) - 0.5
					q := vox.Apply([3]float64{float64(i), float64(j), kk})
					sum += src.Sample(q[0], q[1], q[2])
				}
				idx := g.Index(i, j, k)
				signal := sum / float32(nsub) * scale
				if clean != nil {
					clean.Data[idx] = signal
				}
				re := float64(signal*bias.Data[idx]) + sigma*rng.NormFloat64()
				im := sigma * rng.NormFloat64()
				// Stored as whole numbers, as a scanner stores them, so
				// that int16 files hold exactly the generated values.
				out.Data[idx] = float32(math.Round(math.Sqrt(re*re + im*im)))
			}
		}
	})
	return out, bias, clean
}
