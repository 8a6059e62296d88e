package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// lowSpace is the free space below which a failed command blames the disk.
const lowSpace = 64 << 20

// dataDirHint says what about the data directory may have made a command
// fail, and what to do: a read-only filesystem, a full disk, no write
// permission. The checks look at err's chain (Go's own file operations
// keep the errno) and at the filesystem itself, because DuckDB's and
// SQLite's errors reach rawland only as text. "" when nothing is wrong.
func dataDirHint(dir string, err error) string {
	abs, aerr := filepath.Abs(dir)
	if aerr != nil {
		return ""
	}
	// the nearest existing ancestor (the data dir may not exist yet)
	p := abs
	for {
		if _, serr := os.Stat(p); serr == nil || !errors.Is(serr, fs.ErrNotExist) || p == filepath.Dir(p) {
			break
		}
		p = filepath.Dir(p)
	}
	fsInfo := statFS(p)
	switch {
	case errors.Is(err, syscall.EROFS) || fsInfo.readOnly:
		return fmt.Sprintf("%s is on a read-only filesystem: remount it read-write, or point data_dir (or --data) at a writable directory", abs)
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || (fsInfo.known && fsInfo.avail < lowSpace):
		return fmt.Sprintf("the filesystem holding %s is full or nearly (%s free): free some space (transform needs room for the warehouse and DuckDB's spill files there) and run again; nothing committed was lost, the failed work is redone", abs, humanBytes(fsInfo.avail))
	case errors.Is(err, fs.ErrPermission) || syscall.Access(p, 2 /* W_OK */) != nil:
		return fmt.Sprintf("%s is not writable by this user: fix its owner or mode, or point data_dir (or --data) elsewhere", p)
	}
	return ""
}

// fsState is what statFS learnt about a filesystem.
type fsState struct {
	known    bool
	readOnly bool
	avail    uint64 // bytes available to unprivileged users
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
