package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// cloneFile makes dst a copy of src: a reflink clone where the filesystem
// supports them (XFS, btrfs, bcachefs, ZFS 2.2+: no data is copied), else a
// kernel-side copy; then fsyncs it. dst must not exist.
func cloneFile(src, dst string) (string, error) {
	return cloneFileCtx(context.Background(), src, dst)
}

// cloneFileCtx is cloneFile, copying 64 MiB at a time and stopping (dst
// removed) once ctx is done: a publish's copy of a big warehouse must not
// hold up a SIGTERM.
func cloneFileCtx(ctx context.Context, src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		out.Close()
		os.Remove(dst)
		return "", err
	}
	method := "clone"
	if err := reflink(out, in); err != nil {
		method = "copy"
		for {
			if err := ctx.Err(); err != nil {
				return fail(err)
			}
			// copy_file_range: the kernel copies; io.EOF once src is done
			if _, err := io.CopyN(out, in, 64<<20); err == io.EOF {
				break
			} else if err != nil {
				return fail(fmt.Errorf("copy %s to %s: %w", src, dst, err))
			}
		}
	}
	if err := out.Sync(); err != nil {
		return fail(fmt.Errorf("sync %s: %w", dst, err))
	}
	if err := out.Close(); err != nil {
		os.Remove(dst)
		return "", err
	}
	return method, nil
}

// writeFileAtomic writes v as JSON to path: temp file, fsync, rename.
func writeFileAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// syncFile fsyncs a closed file.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// readJSON reads the JSON file at path into v.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
