package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the baseline's DuckDB

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
)

func init() {
	register(&command{
		name:    "bench",
		usage:   "[--size N] [--json]",
		summary: "measure ingest and transform on the mock upstream against baselines measured in the same run",
		run:     runBench,
	})
}

// benchFigures is what `bench --json` prints: rates in records/s, ratios
// as plain numbers (rawland's rate over its baseline's).
type benchFigures struct {
	Stream              string  `json:"stream"`
	Records             int64   `json:"records"`
	FetchBaselineRPS    float64 `json:"fetch_baseline_records_per_s"`
	IngestRPS           float64 `json:"ingest_records_per_s"`
	IngestVsFetch       float64 `json:"ingest_vs_fetch_baseline"`
	ReadJSONBaselineRPS float64 `json:"duckdb_read_json_records_per_s"`
	TransformRPS        float64 `json:"transform_records_per_s"`
	TransformVsReadJSON float64 `json:"transform_vs_read_json_baseline"`
}

// runBench starts the mock upstream on loopback and measures, on one
// stream: a bare HTTP walk of its pages (the floor any ingest pays), rawland
// ingest (fetch + land + fsync + commit), DuckDB's own read_json_auto of the
// landed files into a table (the floor of any load), and rawland transform
// (validate + type + merge). Everything runs in a temporary data directory.
func runBench(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	size := fs.Int("size", 100000, "records in the stream")
	const stream = mockapi.StreamUsers // link-paged JSON arrays: what bareWalk reads
	asJSON := fs.Bool("json", false, "print one JSON object of figures")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("bench takes no arguments")
	}
	if err := a.quietLogs(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "rawland-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	mock := mockapi.New(mockapi.Options{Seed: 1, Size: *size})
	url, stop, err := a.serveMock(mock)
	if err != nil {
		return err
	}
	defer stop()
	if _, err := writeMockProject(dir, mock, url, ""); err != nil {
		return err
	}
	cfg, err := config.Load(filepath.Join(dir, "rawland.yaml"))
	if err != nil {
		return err
	}
	streams, err := cfg.Select([]string{stream})
	if err != nil {
		return usagef("%v", err)
	}
	a.cfg, a.dataFlag = cfg, cfg.DataDir
	f := benchFigures{Stream: stream}

	// 1. baseline: a bare walk of the stream's pages, records counted
	t0 := time.Now()
	n, err := bareWalk(ctx, url+streams[0].Path, streams[0])
	if err != nil {
		return fmt.Errorf("baseline walk: %w", err)
	}
	f.FetchBaselineRPS = float64(n) / time.Since(t0).Seconds()

	// 2. rawland ingest
	t0 = time.Now()
	results, err := a.ingestStreams(ctx, streams, state.KindIngest, 1)
	if err != nil {
		return err
	}
	if results[0].err != nil {
		return results[0].err
	}
	f.Records = results[0].res.Run.Records
	f.IngestRPS = float64(f.Records) / time.Since(t0).Seconds()

	// 3. baseline: DuckDB reads the landed files into a table
	glob := filepath.Join(a.zone().Dir, "raw", stream, "*", "*.jsonl*")
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	t0 = time.Now()
	_, err = db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE t AS SELECT * FROM read_json_auto('%s')", strings.ReplaceAll(glob, "'", "''")))
	db.Close()
	if err != nil {
		return fmt.Errorf("baseline read_json_auto: %w", err)
	}
	f.ReadJSONBaselineRPS = float64(f.Records) / time.Since(t0).Seconds()

	// 4. rawland transform
	t0 = time.Now()
	if _, err := a.runTransform(ctx, []string{stream}); err != nil {
		return err
	}
	f.TransformRPS = float64(f.Records) / time.Since(t0).Seconds()
	f.IngestVsFetch = f.IngestRPS / f.FetchBaselineRPS
	f.TransformVsReadJSON = f.TransformRPS / f.ReadJSONBaselineRPS

	if *asJSON {
		return writeJSON(a.stdout, f)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "stream %s, %d records, mock upstream on loopback\n\n", f.Stream, f.Records)
	fmt.Fprintln(tw, "STEP\tRECORDS/S\tVS BASELINE")
	fmt.Fprintf(tw, "baseline: bare HTTP walk of the pages\t%.0f\t\n", f.FetchBaselineRPS)
	fmt.Fprintf(tw, "rawland ingest (fetch, land, fsync, commit)\t%.0f\t%.2f×\n", f.IngestRPS, f.IngestVsFetch)
	fmt.Fprintf(tw, "baseline: DuckDB read_json_auto into a table\t%.0f\t\n", f.ReadJSONBaselineRPS)
	fmt.Fprintf(tw, "rawland transform (validate, type, merge)\t%.0f\t%.2f×\n", f.TransformRPS, f.TransformVsReadJSON)
	return tw.Flush()
}

// bareWalk GETs every page of a link- or body-paged listing the simplest
// way (no retries, no landing) and counts the records: the baseline.
func bareWalk(ctx context.Context, first string, s *config.Stream) (int64, error) {
	next := first
	if len(s.Params) > 0 {
		q := []string{}
		for k, v := range s.Params {
			q = append(q, k+"="+v)
		}
		next += "?" + strings.Join(q, "&")
	}
	var n int64
	for pages := 0; next != "" && pages < 1_000_000; pages++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return n, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return n, err
		}
		var recs []json.RawMessage
		if err := json.Unmarshal(body, &recs); err != nil {
			return n, fmt.Errorf("page %d is not a JSON array: %w", pages+1, err)
		}
		n += int64(len(recs))
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			for _, part := range strings.Split(l, ",") {
				if strings.Contains(part, `rel="next"`) {
					u, _, _ := strings.Cut(strings.TrimSpace(part), ">")
					next = strings.TrimPrefix(u, "<")
				}
			}
		}
	}
	return n, nil
}
