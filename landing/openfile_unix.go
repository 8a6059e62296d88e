//go:build unix

package landing

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// openRead opens a landed file for reading. A regular file cannot be
// waited on with the runtime's poller, yet os.Open tries: on Linux it sets
// the descriptor non-blocking, fails to register it with epoll and sets it
// blocking again, five system calls more per file. Reading a small run
// opens two files (manifest, part), and locating it one more; for 1,000
// runs of 100 records those calls were a fifth of the CPU (locate and
// read: 135–139 ms, 107–118 ms without them). The descriptor is opened
// here and given to os.NewFile, which only asks whether it is
// non-blocking (it is not) and reads it with plain blocking reads, as
// os.Open ends up doing for a regular file.
func openRead(path string) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if errors.Is(err, syscall.EINTR) {
			continue // as os.Open does (NFS, FUSE)
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}
