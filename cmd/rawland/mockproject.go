package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/mockapi"
)

// serveMock serves the mock upstream on a free loopback port; stop shuts it
// down and waits for it.
func (a *app) serveMock(mock *mockapi.Server) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen on loopback: %w", err)
	}
	srv := &http.Server{Handler: mock, ReadHeaderTimeout: 10 * time.Second}
	var wg conc.WaitGroup
	wg.Go(func() {
		defer a.guard()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("mock upstream", "err", err)
		}
	})
	return "http://" + ln.Addr().String(), func() {
		srv.Close()
		wg.Wait()
	}, nil
}

// writeMockProject writes dir/rawland.yaml and dir/schemas/*.json for the
// mock upstream at url; a non-empty dataDir replaces the generated data_dir
// (written absolute, so the file works from any directory). It returns the
// config file's path.
func writeMockProject(dir string, mock *mockapi.Server, url, dataDir string) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "schemas"), 0o755); err != nil {
		return "", err
	}
	for name, body := range mock.Schemas() {
		if err := landing.WriteFileAtomic(filepath.Join(dir, "schemas", name+".json"), body); err != nil {
			return "", err
		}
	}
	cfg := mock.Config(url)
	if dataDir != "" {
		cfg = strings.Replace(cfg, "\ndata_dir: data\n", fmt.Sprintf("\ndata_dir: %q\n", dataDir), 1)
	}
	path := filepath.Join(dir, "rawland.yaml")
	return path, landing.WriteFileAtomic(path, []byte(cfg))
}

// projectFiles lists the files writeMockProject writes into dir.
func projectFiles(dir string, mock *mockapi.Server) []string {
	files := []string{filepath.Join(dir, "rawland.yaml")}
	for name := range mock.Schemas() {
		files = append(files, filepath.Join(dir, "schemas", name+".json"))
	}
	return files
}

// refuseOverwrite fails with a usage error naming the first file that
// exists: commands that write a project never replace a user's files
// unless --force says so.
func refuseOverwrite(files ...string) error {
	var exist []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			exist = append(exist, f)
		}
	}
	if len(exist) == 0 {
		return nil
	}
	more := ""
	if len(exist) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(exist)-1)
	}
	return usagef("%s exists%s: not overwriting it; move it away or pass --force", exist[0], more)
}
