//go:build !unix

package fetch

import (
	"errors"
	"os"
)

var errNoFlock = errors.New("Options.QuotaDir needs flock(2), which this platform lacks; leave QuotaDir empty")

func lockSupported() error      { return errNoFlock }
func lockFile(*os.File) error   { return errNoFlock }
func unlockFile(*os.File) error { return errNoFlock }
