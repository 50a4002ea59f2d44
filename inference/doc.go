// Package inference is Metascope's DeepMedic-style network: its definition
// and geometry, its weights files and model folders, and dense prediction
// over a brain by tiling, with the fold ensemble fused into candidates.
//
// # Layout
//
//   - inference/kernels: the compute seam. Backend (Conv3D and its two
//     backward passes, Gemm) with a CPU implementation on BLIS (cgo, the
//     default) or gonum (pure Go: CGO_ENABLED=0 or -tags noblis). A GPU
//     backend implements Backend; the model code does not change.
//   - inference/nn: every layer op once, forward and backward, as plain Go
//     on float32 tensors, plus nn.Apply, which makes any of them a gorgonia
//     op with symbolic differentiation.
//   - this package: Config (validated once) and Geometry, Network (wired
//     once, in wire, over a builder: directly on tensors for inference and
//     for the training Tape, or as a gorgonia graph via Network.Graph),
//     weights files, model folders, tiling, Predict and Fuse.
//
// # The network
//
// Two pathways of len(Config.Channels) 3x3x3 valid convolutions (default
// 30, 30, 40, 40, 40, 40, 50, 50), each followed by batch norm and PReLU,
// with residual additions at layers 4, 6 and 8 (DeepMedic's crop-and-add,
// on the channels both tensors have). The normal pathway sees the centre
// of the input at 1 mm; the low pathway sees the whole input averaged over
// 3x3x3 blocks and is repeated back up by 3. Their outputs are
// concatenated, pass two 1x1x1 layers of 150 (batch norm, PReLU, dropout
// in training) and a 1x1x1 sigmoid output. Inputs are T1, T2, T1c, FLAIR
// (volume.Sequences order), 1 mm, z-scored inside the brain.
//
// For an output block of n^3 voxels (n a multiple of 3) the input block is
// (n+48)^3: 24 voxels of margin per side, set by the low pathway (8 layers
// x 1 voxel x factor 3); the normal pathway uses the central (n+16)^3.
// Training patches of 9^3 output take 57^3 inputs, whose central 25^3 is
// the study's normal-pathway patch. Geometry answers these questions for
// any Config; the tiler and the patch sampler ask it.
//
// # Exact tiling
//
// The average pooling blocks must sit on the same grid in every tile, and
// so must the output pairs of the Winograd convolution, so tile origins are
// multiples of 6 (Geometry.Align) from the corner of the brain's bounding
// box; with that, tiled prediction equals one pass over the whole box bit
// for bit (tested). Each tile shrinks to the brain inside it (Plan), and
// tiles without brain are skipped.
//
// Winograd F(4,3) along the width (half the operations of the direct
// method, against F(2,3)'s two thirds) cannot keep that promise: each of
// its outputs mixes inputs beyond its own three taps, whose contributions
// cancel in exact arithmetic but not in float32, so the last group of a
// row rounds differently where a tile ends than inside the whole box, and
// the difference spreads inward layer by layer (tried: 7e-7 apart). F(2,3)
// is exact in this sense: each output reads only its own taps.
//
// # Speed
//
// Convolutions are SGEMMs on shifted windows of the input (kernels.CPU):
// no im2col buffer, BLIS packs each window itself; 3x3x3 layers with five
// or more input channels use Winograd F(2,3) along the width, a third
// fewer operations. On this machine's AMD CPU (AVX-512), Debian's BLIS 0.9
// would choose its slow "generic" kernels; the kernels package selects
// "skx" itself before BLIS starts, so no user sets an environment
// variable. The element-wise work of a convolution (the Winograd input
// transform, bias, PReLU, the scatter into the output) runs as vectorised
// C under cgo, bit for bit the Go code of the pure-Go build.
//
// A prediction reads the network's output inside the brain only, and a
// tile's corners are mostly air: ForwardRows computes, in every
// full-resolution layer, only the rows (z, y) that some brain voxel of the
// tile depends on (the tile's brain rows dilated by the layer's margin),
// a sixth of the work on a full brain. Inference runs the network directly
// rather than through a gorgonia machine (which allocates every buffer on
// every run and locks its OS thread), in place where an op allows, with
// each eval-mode batch norm folded into the weights of the convolution
// before it and each worker reusing its activation buffers from block to
// block. Predict runs two folds at once, which keeps both cores of a
// two-core machine busy through each fold's single-threaded stretches.
//
// Products with one row or one column (the output layer's single filter)
// are computed as the first of two: BLIS gives them to matrix-vector
// kernels whose rounding depends on where the columns fall, which would
// break exact tiling.
//
// Measured on the idle two-core machine (BenchmarkEnsemble, BenchmarkBrain,
// BenchmarkLayers): the five-fold ensemble over a full 1 mm brain (1.53 M
// brain voxels; 2.54 TFLOP a fold for the dense method at segment 60) takes
// 47-49 s (91-96 CPU-s), peak 2.2-2.5 GB; one fold 18 CPU-s. Layers run at
// 41-61 % of the machine's SGEMM rate per CPU-second (medians; the first of
// each pathway, with its 4 input channels the shallowest product even with
// the width taps moved into its rows, at 41-45 %, and 35-38 % while other
// machines on the host took memory bandwidth). Winograd F(2x2,3x3) over height and width
// was tried: a third fewer SGEMM operations, but its four-times-larger
// transformed input made the SGEMMs memory-bound and each layer about 20 %
// slower in CPU time than F(2,3) along the width.
package inference
