package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawland/rawland/mockapi"
)

// BenchmarkExportLanding lands one large export (RAWLAND_EXPORT_BENCH_MB,
// default 1024 MiB, in 4 files) with a real `rawland ingest` child process
// and downloads the same files with curl in the same run (before and
// after, the mean taken), and reports the throughput ratio and the child's
// peak RSS. Run it alone:
//
//	go test -tags duckdb_arrow -run '^$' -bench ExportLanding -benchtime 1x ./cmd/rawland
//
// The landed run and the curl copies are deleted as soon as they are
// measured.
func BenchmarkExportLanding(b *testing.B) {
	if _, err := exec.LookPath("curl"); err != nil {
		b.Skip("curl is not installed: it is the baseline")
	}
	mb := 1024
	if v, err := strconv.Atoi(os.Getenv("RAWLAND_EXPORT_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	const rowLen, files = 1024, 4
	const token = "bench-token"
	b.Setenv("EXPORT_CRASH_TOKEN", token)
	records := int64(mb) << 20 / rowLen
	x := mockapi.NewExport(mockapi.ExportOptions{Records: records, Files: files, Token: token, Pad: rowLen - 112})
	api := httptest.NewServer(x.API())
	defer api.Close()
	fsrv := httptest.NewServer(x.Files())
	defer fsrv.Close()
	x.SetFilesBase(fsrv.URL)
	cfg := strings.Replace(exportCrashCfg, "checksum: sha256}", "checksum: sha256, max_file_bytes: 4GiB}", 1)
	cfg = strings.Replace(cfg, "landing: {roll_bytes: 8KiB}", "landing: {roll_bytes: 64MiB}", 1)
	cfg = strings.Replace(cfg, "timeout: 2s", "timeout: 30s", 1)
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "schemas"), 0o755)
	os.WriteFile(filepath.Join(dir, "rawland.yaml"), []byte(strings.ReplaceAll(cfg, "{{URL}}", api.URL)), 0o644)
	os.WriteFile(filepath.Join(dir, "schemas", "things.json"), []byte(`{"type":"object","properties":{"id":{"type":"integer"}}}`), 0o644)

	for range b.N {
		curl1 := curlFiles(b, api.URL, token, "job-1", dir, true)
		exe, _ := os.Executable()
		cmd := exec.Command(exe, "ingest", "things")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "RAWLAND_AS_MAIN=1")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		landSecs := time.Since(start).Seconds()
		if err != nil {
			b.Fatalf("rawland ingest: %v\n%s", err, out)
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
		jobs := x.Stats().JobsCreated
		curl2 := curlFiles(b, api.URL, token, fmt.Sprintf("job-%d", jobs), dir, false)
		os.RemoveAll(filepath.Join(dir, "data", "raw"))
		curlSecs := (curl1 + curl2) / 2
		size := float64(records * rowLen)
		b.ReportMetric(size/(1<<20)/landSecs, "MiB/s_rawland")
		b.ReportMetric(size/(1<<20)/curlSecs, "MiB/s_curl")
		b.ReportMetric(curlSecs/landSecs, "ratio_vs_curl")
		b.ReportMetric(float64(rss)/1024, "MiB_peak_rss")
		b.ReportMetric(float64(jobs-1)/1, "jobs_created") // curlFiles' first pass made job-1
		fig, _ := json.Marshal(map[string]any{"bytes": int64(size), "files": files, "records": records, "rawland_seconds": landSecs,
			"curl_seconds": curlSecs, "ratio_vs_curl": curlSecs / landSecs, "peak_rss_mib": float64(rss) / 1024, "jobs_created_by_rawland": jobs - 1})
		b.Logf("figures: %s", fig)
	}
}

// curlFiles downloads the files of a job with curl, one after the other,
// into dir (deleted afterwards) and returns the seconds taken. With create
// it makes the job first (the mock answers done at once).
func curlFiles(b *testing.B, api, token, job, dir string, create bool) float64 {
	b.Helper()
	do := func(method, url string) []byte {
		req, _ := http.NewRequest(method, url, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return body
	}
	if create {
		do(http.MethodPost, api+"/exports")
	}
	var st struct {
		Files []struct{ URL string }
	}
	if err := json.Unmarshal(do(http.MethodGet, api+"/exports/"+job), &st); err != nil || len(st.Files) == 0 {
		b.Fatalf("poll %s: %v (%d files)", job, err, len(st.Files))
	}
	start := time.Now()
	for i, f := range st.Files {
		out := filepath.Join(dir, fmt.Sprintf("curl-%d", i))
		if o, err := exec.Command("curl", "-sSf", "-o", out, f.URL).CombinedOutput(); err != nil {
			b.Fatalf("curl: %v: %s", err, o)
		}
	}
	secs := time.Since(start).Seconds()
	for i := range st.Files {
		os.Remove(filepath.Join(dir, fmt.Sprintf("curl-%d", i)))
	}
	return secs
}
