package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets tests run the real rawland binary as a child process: the
// test binary re-executes itself with RAWLAND_AS_MAIN=1 and behaves as
// rawland (so crash tests can SIGKILL a real process). `rawland bench`
// relies on it too: it runs its steps as children of os.Executable(),
// which under `go test` is this test binary, and sets the variable. That
// is more robust than building a binary for the test: the child is
// exactly the code under test, with the same build tags.
func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	if mode := os.Getenv(readerEnv); mode != "" {
		os.Exit(readerChild(mode))
	}
	code := m.Run()
	stopPostgres()
	os.Exit(code)
}

// child returns an un-started rawland process in dir.
func child(t *testing.T, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), asMainEnv+"=1"), env...)
	return cmd
}

// rawland runs rawland in-process and returns its exit code and output.
func rawland(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// project writes a rawland.yaml (with {{URL}} replaced) and open schemas for
// its streams into a temp dir.
func project(t *testing.T, cfg, url string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "schemas"), 0o755)
	cfg = strings.ReplaceAll(cfg, "{{URL}}", url)
	os.WriteFile(filepath.Join(dir, "rawland.yaml"), []byte(cfg), 0o644)
	for _, line := range strings.Split(cfg, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "schema: "); ok {
			os.WriteFile(filepath.Join(dir, s), []byte(`{"type":"object","properties":{"id":{"type":"integer"}}}`), 0o644)
		}
	}
	return dir
}
