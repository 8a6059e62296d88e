//go:build unix

package fetch

import (
	"errors"
	"os"
	"syscall"
)

func lockSupported() error { return nil }

// lockFile takes an exclusive flock(2), retrying if a signal interrupts it.
func lockFile(f *os.File) error {
	var err error
	for range 100 {
		if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
	return err
}

func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
