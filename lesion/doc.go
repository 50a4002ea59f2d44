// Package lesion is the one way Metascope counts lesions: connected
// components of label maps, matching of a reference map against a test map,
// voxelwise Dice, ensemble fusion, detection metrics per case and per
// cohort, FROC curves and the results table in the layout of the study
// Metascope reproduces.
//
// Every count (the consensus workflow's lesion list, the AI candidate list,
// model evaluation) goes through Components and Match, so that "a lesion",
// "detected" and "false positive" mean the same thing everywhere. The
// matching rule is documented on Match; the definitions of the metrics and
// of their undefined cases on CaseResult and CohortResult.
//
// A lesion is a connected set of non-zero voxels; every non-zero label value
// counts as lesion. Volumes are measured from the affine, never from voxel
// counts alone. Functions comparing two maps require the same grid and
// panic otherwise: callers holding maps read from files check CheckGrids
// first and report the file.
package lesion
