// Package training turns labelled cases into a model: a dataset read lazily
// from a workspace, an nnU-Net/Decathlon folder or a phantom cohort; patches
// sampled half on lesion, half on brain background, flipped at random; a soft
// Dice loss minimised with RMSprop; k-fold cross-validation split by case;
// checkpoints every epoch that a stopped run resumes from exactly; and the
// fold ensemble written as an inference model folder.
//
// The math of every layer, forward and backward, is inference/nn's (through
// inference.Network.ForwardTrain and Tape.Backward): training adds only the
// loss, the optimiser and the data. It runs the ops directly rather than
// through a gorgonia machine, because gorgonia's TapeMachine allocates every
// buffer on every run (hundreds of MB per step at the study's size) and its
// LispMachine does not recompute after Reset.
package training

import (
	"errors"
	"fmt"

	"metascope/inference"
)

// Options are a training run's settings. Start from DefaultOptions; Validate
// names the first wrong field.
type Options struct {
	// Network is the architecture trained.
	Network inference.Config `json:"network"`
	// PatchSize is the edge of a training patch's output block (voxels);
	// the input block is larger by the network's margins. It must be a
	// multiple of the network's Factor: the study's 25 becomes 24.
	PatchSize int `json:"patch_size"`
	// LesionFraction is the share of patches centred on a lesion voxel;
	// the rest are centred on brain voxels outside lesions.
	LesionFraction float64 `json:"lesion_fraction"`
	// FlipProb is the probability of mirroring a patch along each axis.
	FlipProb float64 `json:"flip_prob"`
	// BatchSize is the number of patches per optimiser step.
	BatchSize int `json:"batch_size"`
	// Epochs is the number of epochs per fold; PatchesPerEpoch how many
	// patches one epoch trains on (rounded down to whole batches).
	Epochs          int `json:"epochs"`
	PatchesPerEpoch int `json:"patches_per_epoch"`
	// CasesLoaded is how many preprocessed cases are held in memory at
	// once: an epoch visits the training cases in groups of this size and
	// samples its patches from the group it holds.
	CasesLoaded int `json:"cases_loaded"`
	// ValPatches is the number of fixed validation patches (drawn once per
	// fold from its validation cases, half on lesion) scored every epoch.
	ValPatches int `json:"val_patches"`
	// LearningRate is RMSprop's initial step; RMSRho its decay of the
	// squared-gradient average and RMSEps its denominator's guard.
	LearningRate float64 `json:"learning_rate"`
	RMSRho       float64 `json:"rms_rho"`
	RMSEps       float64 `json:"rms_eps"`
	// Patience: the learning rate is halved whenever the validation Dice
	// has not improved for more than Patience epochs.
	Patience int `json:"patience"`
	// Folds is k of k-fold cross-validation (split by case); 1 trains one
	// model on a 80/20 split.
	Folds int `json:"folds"`
	// Seed fixes every random choice (split, patches, flips, dropout,
	// initial weights): same seed, backend and thread count, same bits.
	Seed uint64 `json:"seed"`
	// Threshold is the probability at which validation Dice and the saved
	// model binarise.
	Threshold float64 `json:"threshold"`
}

// Preset names a network size.
type Preset string

const (
	// Tiny is for tests: a few channels, trains in seconds.
	Tiny Preset = "tiny"
	// Demo is the shipped demo model's size: trained in about an hour on
	// two cores, a few hundred kB of weights.
	Demo Preset = "demo"
	// Full is the study's network.
	Full Preset = "full"
)

// ParsePreset accepts tiny, demo and full.
func ParsePreset(s string) (Preset, error) {
	switch p := Preset(s); p {
	case Tiny, Demo, Full:
		return p, nil
	}
	return "", fmt.Errorf("unknown network preset %q (want tiny, demo or full)", s)
}

// NetworkConfig is the architecture of a preset. All keep the study's
// depth (8 layers of 3^3 per pathway, residuals at 4, 6, 8, context
// downsampled by 3), so all see the same 51 mm of context; they differ in
// width.
func NetworkConfig(p Preset) inference.Config {
	c := inference.DefaultConfig()
	switch p {
	case Tiny:
		c.Channels = []int{4, 4, 4, 4, 4, 4, 4, 4}
		c.FC = []int{8}
		c.Dropout = 0
	case Demo:
		c.Channels = []int{6, 6, 8, 8, 8, 8, 10, 10}
		c.FC = []int{20}
		c.Dropout = 0.2
	}
	return c
}

// DefaultOptions is the study's training: the full network, 24^3 patches
// (the nearest multiple of 3 to its 25^3), half on lesion, flips, batch 10,
// 35 epochs, RMSprop, learning rate halved after 3 epochs without progress,
// 5 folds.
func DefaultOptions() Options {
	return Options{
		Network:         NetworkConfig(Full),
		PatchSize:       24,
		LesionFraction:  0.5,
		FlipProb:        0.5,
		BatchSize:       10,
		Epochs:          35,
		PatchesPerEpoch: 1000,
		CasesLoaded:     4,
		ValPatches:      100,
		LearningRate:    1e-3,
		RMSRho:          0.9,
		RMSEps:          1e-6,
		Patience:        3,
		Folds:           5,
		Seed:            1,
		Threshold:       0.5,
	}
}

// Validate reports every wrong field.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := o.Network.Validate(); err != nil {
		errs = append(errs, err)
	} else if f := o.Network.Factor; o.PatchSize < f || o.PatchSize%f != 0 || o.PatchSize > 96 {
		bad("patch_size %d: must be a multiple of the network's factor %d, at most 96", o.PatchSize, f)
	}
	if !(o.LesionFraction >= 0 && o.LesionFraction <= 1) {
		bad("lesion_fraction %g: must be in [0, 1]", o.LesionFraction)
	}
	if !(o.FlipProb >= 0 && o.FlipProb <= 1) {
		bad("flip_prob %g: must be in [0, 1]", o.FlipProb)
	}
	if o.BatchSize < 1 || o.BatchSize > 1024 {
		bad("batch_size %d: must be 1..1024", o.BatchSize)
	}
	if o.Epochs < 1 || o.Epochs > 10000 {
		bad("epochs %d: must be 1..10000", o.Epochs)
	}
	if o.PatchesPerEpoch < o.BatchSize {
		bad("patches_per_epoch %d: must be at least one batch (%d)", o.PatchesPerEpoch, o.BatchSize)
	}
	if o.CasesLoaded < 1 || o.CasesLoaded > 64 {
		bad("cases_loaded %d: must be 1..64", o.CasesLoaded)
	}
	if o.ValPatches < 1 || o.ValPatches > 100000 {
		bad("val_patches %d: must be 1..100000", o.ValPatches)
	}
	if !(o.LearningRate > 0 && o.LearningRate < 10) {
		bad("learning_rate %g: must be in (0, 10)", o.LearningRate)
	}
	if !(o.RMSRho > 0 && o.RMSRho < 1) {
		bad("rms_rho %g: must be in (0, 1)", o.RMSRho)
	}
	if !(o.RMSEps > 0 && o.RMSEps < 1) {
		bad("rms_eps %g: must be in (0, 1)", o.RMSEps)
	}
	if o.Patience < 0 || o.Patience > 1000 {
		bad("patience %d: must be 0..1000", o.Patience)
	}
	if o.Folds < 1 || o.Folds > 20 {
		bad("folds %d: must be 1..20", o.Folds)
	}
	if !(o.Threshold > 0 && o.Threshold < 1) {
		bad("threshold %g: must be in (0, 1)", o.Threshold)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("training options: %w", err)
	}
	return nil
}

// StepsPerEpoch is the number of optimiser steps in one epoch.
func (o Options) StepsPerEpoch() int { return o.PatchesPerEpoch / o.BatchSize }
