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
package segedit
