package chaos

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// ErrNotRoot means the disk faults cannot be injected: mounting a tmpfs
// needs root (CAP_SYS_ADMIN).
var ErrNotRoot = errors.New("the full-disk and read-only rounds need root to mount a tmpfs")

// Disk is a tmpfs mounted over the data directory, so that rounds can fill
// it (ENOSPC) or make it read-only (EROFS) and then give it back.
type Disk struct {
	Dir  string
	Size int64 // the normal size, in bytes
}

// MountDisk mounts a tmpfs of size bytes on dir (which must exist and be
// empty). Unmount it with Unmount.
func MountDisk(dir string, size int64) (*Disk, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.FormatInt(size, 10)+",mode=0755"); err != nil {
		return nil, fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return &Disk{Dir: dir, Size: size}, nil
}

// Used returns the bytes in use on the tmpfs.
func (d *Disk) Used() (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.Dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", d.Dir, err)
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize, nil
}

// remount changes the tmpfs's size limit and writability.
func (d *Disk) remount(size int64, readOnly bool) error {
	flags := uintptr(syscall.MS_REMOUNT)
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	if err := syscall.Mount("tmpfs", d.Dir, "tmpfs", flags, "size="+strconv.FormatInt(size, 10)); err != nil {
		return fmt.Errorf("remount %s (size %d, read-only %v): %w", d.Dir, size, readOnly, err)
	}
	return nil
}

// Fill shrinks the tmpfs to what is used plus slack bytes: the next writes
// beyond the slack fail with ENOSPC.
func (d *Disk) Fill(slack int64) error {
	used, err := d.Used()
	if err != nil {
		return err
	}
	return d.remount(used+slack, false)
}

// ReadOnly remounts the tmpfs read-only: every write fails with EROFS.
func (d *Disk) ReadOnly() error { return d.remount(d.Size, true) }

// Restore gives the tmpfs its normal size, writable.
func (d *Disk) Restore() error { return d.remount(d.Size, false) }

// Unmount unmounts the tmpfs (lazily if something still holds it).
func (d *Disk) Unmount() error {
	if err := syscall.Unmount(d.Dir, 0); err != nil {
		if err2 := syscall.Unmount(d.Dir, syscall.MNT_DETACH); err2 != nil {
			return fmt.Errorf("unmount %s: %w", d.Dir, errors.Join(err, err2))
		}
	}
	return nil
}
