// Package segedit is Metascope's label editing logic: tools that build
// modifiers, the one function that applies them, undo history of run-length
// encoded deltas, and reader sessions that journal every committed stroke so
// that a crash loses nothing.
//
// As in ITK-SNAP, the logic knows nothing of the GUI: tools take voxel
// coordinates and a Plane, never mouse events; the app translates events. As
// in 3D Slicer's Segment Editor, every edit (brush, eraser, threshold brush,
// fill, delete component, fill holes, interpolation, accepting an AI
// candidate) builds a Modifier and goes through Apply, the single edit path,
// which returns the Delta that history and journal record.
//
// A Session is one reader's label map of one case (labels/<reader>.nii.gz)
// with its history, journal (<reader>.journal) and resume state
// (<reader>.resume.json). Durability works thus: every committed step is
// appended to the journal with a checksum and fsynced before the call
// returns; Checkpoint writes the label atomically and restarts the journal
// from it. Each record carries the label's fingerprint after it (a linear
// hash, updated in time proportional to the delta), so reopening knows
// whether the saved label is the journal's starting point, already contains
// its records (a crash between the two writes of a checkpoint), or belongs
// to something else (the journal is then kept aside, never applied blindly).
//
// Consensus and adjudication (two readers, one truth) build on the same
// pieces: a consensus label is one more Session, and resolving an item
// (accept A, accept B, union, intersection) is a Modifier through Apply.
package segedit
