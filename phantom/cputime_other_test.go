//go:build !unix

package phantom

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
