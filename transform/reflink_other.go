//go:build !linux

package transform

import (
	"errors"
	"os"
)

// reflink is not available here: publishing copies.
func reflink(out, in *os.File) error { return errors.ErrUnsupported }
