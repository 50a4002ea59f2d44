package assets

import (
	"embed"
	"io/fs"
)

// The demo model folder, embedded whole. Until `metascope demomodel` has
// written a model into it, it holds only its README.
//
//go:embed demomodel
var demoModel embed.FS

// demoModelManifest is the file that makes a folder a model (the name
// inference.ModelFile gives it; assets sits below inference and cannot
// import it).
const demoModelManifest = "model.json"

// DemoModel returns the embedded demo model folder (model.json and its fold
// weights), and false when this build embeds none.
func DemoModel() (fs.FS, bool) {
	sub, err := fs.Sub(demoModel, "demomodel")
	if err != nil {
		return nil, false
	}
	if _, err := fs.Stat(sub, demoModelManifest); err != nil {
		return nil, false
	}
	return sub, true
}
