// Package assets holds Metascope's embedded resources: the application icon
// and, once trained, the demo model's weights.
package assets

import _ "embed"

//go:embed icon.png
var icon []byte

// Icon returns the application icon as PNG bytes (a copy: callers may keep it).
func Icon() []byte { return append([]byte(nil), icon...) }
