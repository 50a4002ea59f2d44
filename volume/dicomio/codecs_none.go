//go:build !(cgo && dicomcodecs)

package dicomio

// externalCodecs is false in builds without the dicomcodecs tag: JPEG 2000
// and JPEG-LS need Debian's libopenjp2 and libcharls (build with
// -tags dicomcodecs after installing libopenjp2-7-dev and libcharls-dev).
const externalCodecs = false

func decodeJPEG2000([]byte, int, int) ([]uint32, error) { return nil, errNoCodecs }
func decodeJPEGLS([]byte, int, int) ([]uint32, error)   { return nil, errNoCodecs }
