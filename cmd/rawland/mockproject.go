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
