package main

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// mountTmpfs mounts a tmpfs of size (e.g. "8m") on dir, or skips the test
// when that is not possible (not root, no mount(8), no privilege).
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to mount a tmpfs (chmod does not stop root, so a read-only or full data dir needs its own filesystem)")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot mount a tmpfs on %s: %v %s", dir, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// fill writes a file into dir until the filesystem is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			return p
		}
	}
}

// TestUnwritableDataDirSaysWhatAndWhere: transform on a read-only or full
// data directory exits 1 with a message that names the directory and says
// what to do (it used to exit 1 printing nothing), and once the directory
// is writable again the same transform succeeds.
func TestUnwritableDataDirSaysWhatAndWhere(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(t *testing.T, data string) (repair func())
		want    string
	}{
		{"read-only", func(t *testing.T, data string) func() {
			if out, err := exec.Command("mount", "-o", "remount,ro", data).CombinedOutput(); err != nil {
				t.Skipf("skipped: cannot remount read-only: %v %s", err, out)
			}
			return func() {
				if out, err := exec.Command("mount", "-o", "remount,rw", data).CombinedOutput(); err != nil {
					t.Fatalf("remount rw: %v %s", err, out)
				}
			}
		}, "is on a read-only filesystem"},
		{"full", func(t *testing.T, data string) func() {
			p := fill(t, data)
			return func() { os.Remove(p) }
		}, "is full"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(60)
			srv := httptest.NewServer(up)
			defer srv.Close()
			dir := project(t, crashCfg, srv.URL)
			data := filepath.Join(dir, "data")
			os.MkdirAll(data, 0o755)
			mountTmpfs(t, data, "8m")
			// in a child process: an in-process ingest leaves the quota
			// store's lock file open in this one (it stays open between
			// updates), and the read-only remount refuses a busy mount
			if code, out := runChild(t, dir, nil, "ingest"); code != 0 {
				t.Fatalf("ingest exited %d: %s", code, out)
			}
			repair := tc.breakIt(t, data)
			code, out, errOut := rawland(t, dir, "transform")
			if code != exitFailed {
				t.Fatalf("transform exited %d, want 1:\n%s%s", code, out, errOut)
			}
			if !strings.Contains(errOut, data) || !strings.Contains(errOut, tc.want) {
				t.Fatalf("the message does not name %s and say %q:\n%s%s", data, tc.want, out, errOut)
			}
			repair()
			if code, out, errOut := rawland(t, dir, "transform"); code != 0 {
				t.Fatalf("transform after the repair exited %d:\n%s%s", code, out, errOut)
			}
			if rows, runs := warehouseCounts(t, dir); rows != 60 || runs != 1 {
				t.Fatalf("after the repair: %d rows from %d runs, want 60 from 1", rows, runs)
			}
		})
	}
}
