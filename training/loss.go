package training

import (
	"math"

	"metascope/inference/nn"
)

// diceSmooth keeps soft Dice defined on a batch without lesion voxels.
const diceSmooth = 1

// DiceLoss is 1 - soft Dice of the probabilities p against the binary
// target t over the whole batch (one Dice per batch, so that background
// patches, which have no lesion, still contribute their false positives):
//
//	D = (2 sum(p t) + s) / (sum(p) + sum(t) + s),  loss = 1 - D
//
// It returns the loss and its gradient with respect to p.
func DiceLoss(p, t *nn.Tensor) (float64, *nn.Tensor) {
	var pt, sp, st float64
	for i, v := range p.Data {
		pt += float64(v * t.Data[i])
		sp += float64(v)
		st += float64(t.Data[i])
	}
	num, den := 2*pt+diceSmooth, sp+st+diceSmooth
	g := nn.New(p.Shape...)
	// dD/dp_i = (2 t_i den - num) / den^2; the loss's gradient is minus it.
	for i := range g.Data {
		g.Data[i] = float32(-(2*float64(t.Data[i])*den - num) / (den * den))
	}
	return 1 - num/den, g
}

// diceCount pools the counts of the Dice of p >= thr against t.
type diceCount struct{ inter, pred, truth float64 }

func (d *diceCount) add(p, t *nn.Tensor, thr float32) {
	for i, v := range p.Data {
		pv := v >= thr
		tv := t.Data[i] != 0
		if pv {
			d.pred++
		}
		if tv {
			d.truth++
		}
		if pv && tv {
			d.inter++
		}
	}
}

func (d diceCount) dice() float64 {
	if d.pred+d.truth == 0 {
		return 1 // both empty: perfect agreement (and JSON has no NaN)
	}
	return 2 * d.inter / (d.pred + d.truth)
}

// rmsprop is RMSprop: a running average of squared gradients per
// parameter, and steps of lr * g / (sqrt(avg) + eps).
type rmsprop struct {
	rho, eps float64
	avg      [][]float32
}

func newRMSprop(params []*nn.Tensor, rho, eps float64) *rmsprop {
	o := &rmsprop{rho: rho, eps: eps}
	for _, p := range params {
		o.avg = append(o.avg, make([]float32, len(p.Data)))
	}
	return o
}

func (o *rmsprop) step(params, grads []*nn.Tensor, lr float64) {
	rho, eps := float32(o.rho), float32(o.eps)
	for i, p := range params {
		a, g := o.avg[i], grads[i].Data
		for j, gj := range g {
			a[j] = rho*a[j] + (1-rho)*gj*gj
			p.Data[j] -= float32(lr) * gj / (float32(math.Sqrt(float64(a[j]))) + eps)
		}
	}
}
