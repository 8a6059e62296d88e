package ingest_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rawland/rawland/mockapi"
)

// TestExportThroughput lands a 256 MiB export in-process and logs the
// rate; it runs only with RAWLAND_EXPORT_PROFILE=1, for profiling
// (-cpuprofile). The 1 GB figure against curl is cmd/rawland's
// BenchmarkExportLanding.
func TestExportThroughput(t *testing.T) {
	if os.Getenv("RAWLAND_EXPORT_PROFILE") != "1" {
		t.Skip("set RAWLAND_EXPORT_PROFILE=1 to run")
	}
	const rowLen, records = 1024, 256 << 10
	e := newExportEnv(t, mockapi.ExportOptions{Records: records, Files: 4, Pad: rowLen - 112}, func(c string) string {
		c = strings.Replace(c, "sha256, format: jsonl}", "sha256, format: jsonl, max_file_bytes: 1GiB}", 1)
		c = strings.Replace(c, "data_dir: data", "data_dir: data\nlanding: {roll_bytes: 64MiB}", 1)
		return strings.Replace(c, "timeout: 2s", "timeout: 30s", 1)
	})
	start := time.Now()
	if _, err := e.ingest(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%.1f MiB/s", float64(rowLen*records)/(1<<20)/time.Since(start).Seconds())
}
