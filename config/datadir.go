package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CheckDataDir checks that dir can be the data directory: it is a
// directory, or it does not exist yet and can be created (its nearest
// existing ancestor is a writable directory). It does not create anything,
// so read-only commands on a read-only data directory still work.
// flag names the command-line flag dir came from ("--data"), or is "" when
// dir is the config's data_dir. The error is an *Error (exit 2).
func (c *Config) CheckDataDir(dir, flag string) error {
	msg := dataDirProblem(dir)
	if msg == "" {
		return nil
	}
	if flag != "" {
		return &Error{File: flag + " " + dir, Msg: msg + ": pass a directory"}
	}
	return &Error{File: c.Path, Line: c.dataDirLine, Key: "data_dir", Msg: msg + ": point data_dir at a directory (relative paths are relative to the config file)"}
}

func dataDirProblem(dir string) string {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Sprintf("%s exists and is not a directory", dir)
	case err == nil:
		return ""
	case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return fmt.Sprintf("cannot use %s: %v", dir, unwrapPathErr(err))
	}
	// walk up to the nearest existing ancestor: it must be a directory
	// rawland may create entries in
	abs, aerr := filepath.Abs(dir)
	if aerr != nil {
		return fmt.Sprintf("cannot use %s: %v", dir, aerr)
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		switch {
		case err == nil && !fi.IsDir():
			return fmt.Sprintf("%s cannot be created: %s is a file, not a directory", dir, p)
		case err == nil:
			if err := syscall.Access(p, 2 /* W_OK */); err != nil {
				return fmt.Sprintf("%s cannot be created in %s: %v", dir, p, err)
			}
			return ""
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return fmt.Sprintf("%s cannot be created: %s: %v", dir, p, unwrapPathErr(err))
		}
		if p == filepath.Dir(p) {
			return ""
		}
	}
}
