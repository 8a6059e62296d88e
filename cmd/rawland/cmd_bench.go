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
	"github.com/rawland/rawland/transform"
)

func init() {
	register(&command{
		name:    "bench",
		usage:   "[--size N] [--stream users|orders] [--runs N] [--profile DIR] [--json]",
		summary: "measure ingest and transform on the mock upstream against baselines measured in the same run",
		run:     runBench,
	})
}

// benchFigures is what `bench --json` prints: rates in records/s, ratios
// as plain numbers (rawland's rate over its baseline's).
type benchFigures struct {
	Stream              string  `json:"stream"`
	Fast                bool    `json:"fast_validator"` // the stream's schema has a fast validator
	Records             int64   `json:"records"`
	FetchBaselineRPS    float64 `json:"fetch_baseline_records_per_s"`
	IngestRPS           float64 `json:"ingest_records_per_s"`
	IngestVsFetch       float64 `json:"ingest_vs_fetch_baseline"`
	ReadJSONBaselineRPS float64 `json:"duckdb_read_json_records_per_s"`
	TransformRPS        float64 `json:"transform_records_per_s"`
	TransformVsReadJSON float64 `json:"transform_vs_read_json_baseline"`
	// PeakRSSMiB is the process's peak resident set (VmHWM) after each
	// step: the transform's peak is the last one (0 where not known).
	// Runs > 1 (bench --runs N): the same records landed as Runs runs,
	// transformed, and their rate over the one run's.
	Runs             int     `json:"runs,omitempty"`
	TransformRunsRPS float64 `json:"transform_runs_records_per_s,omitempty"`
	RunsVsOneRun     float64 `json:"transform_runs_vs_one_run,omitempty"`
	PeakRSSMiB       struct {
		Ingest    float64 `json:"ingest"`
		ReadJSON  float64 `json:"read_json"`
		Transform float64 `json:"transform"`
	} `json:"peak_rss_mib"`
}

// runBench starts the mock upstream on loopback and measures, on one
// stream: a bare HTTP walk of its pages (the floor any ingest pays), rawland
// ingest (fetch + land + fsync + commit), DuckDB's own read_json_auto of the
// landed files into a table (the floor of any load), and rawland transform
// (validate + type + merge). Everything runs in a temporary data directory.
func runBench(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	size := fs.Int("size", 100000, "records in the stream")
	stream := fs.String("stream", mockapi.StreamUsers, "mock stream: users (flat, link-paged) or orders (nested objects, arrays, enums, patterns, formats)")
	profile := fs.String("profile", "", "write CPU profiles of ingest and transform (ingest.pprof, transform.pprof; transform-runs.pprof with --runs) into this directory")
	asJSON := fs.Bool("json", false, "print one JSON object of figures")
	runs := fs.Int("runs", 1, "also land the same records as N runs and transform them (N small runs against one run)")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("bench takes no arguments")
	}
	if *runs < 1 || int64(*runs) > int64(*size) {
		return usagef("bench --runs: %d is not between 1 and --size (%d)", *runs, *size)
	}
	if *stream != mockapi.StreamUsers && *stream != mockapi.StreamOrders {
		return usagef("bench --stream: %q is not users or orders", *stream)
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
	streams, err := cfg.Select([]string{*stream})
	if err != nil {
		return usagef("%v", err)
	}
	a.cfg, a.dataFlag = cfg, cfg.DataDir
	f := benchFigures{Stream: *stream}

	// 1. baseline: a bare walk of the stream's pages, records counted
	t0 := time.Now()
	n, err := bareWalk(ctx, url+streams[0].Path, streams[0])
	if err != nil {
		return fmt.Errorf("baseline walk: %w", err)
	}
	f.FetchBaselineRPS = float64(n) / time.Since(t0).Seconds()

	// 2. rawland ingest
	stopProf, err := startProfile(*profile, "ingest.pprof")
	if err != nil {
		return err
	}
	t0 = time.Now()
	results, err := a.ingestStreams(ctx, streams, state.KindIngest, 1)
	stopProf()
	if err != nil {
		return err
	}
	if results[0].err != nil {
		return results[0].err
	}
	f.Records = results[0].res.Run.Records
	f.IngestRPS = float64(f.Records) / time.Since(t0).Seconds()
	f.PeakRSSMiB.Ingest = peakRSSMiB()

	// 3. baseline: DuckDB reads the landed files into a table
	glob := filepath.Join(a.zone().Dir, "raw", *stream, "*", "*.jsonl*")
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
	f.PeakRSSMiB.ReadJSON = peakRSSMiB()
	resetPeakRSS() // the transform's own peak, not the baseline's

	// 4. rawland transform
	schemas, err := transform.CompileSchemas(cfg)
	if err != nil {
		return err
	}
	f.Fast = schemas[*stream].FastValidator()
	if stopProf, err = startProfile(*profile, "transform.pprof"); err != nil {
		return err
	}
	t0 = time.Now()
	_, err = a.runTransform(ctx, []string{*stream})
	stopProf()
	if err != nil {
		return err
	}
	f.TransformRPS = float64(f.Records) / time.Since(t0).Seconds()
	f.PeakRSSMiB.Transform = peakRSSMiB()
	f.IngestVsFetch = f.IngestRPS / f.FetchBaselineRPS
	if *runs > 1 {
		f.Runs = *runs
		if f.TransformRunsRPS, err = benchRuns(ctx, a, dir, *stream, results[0].res.Run.ID, *runs, *profile); err != nil {
			return err
		}
		f.RunsVsOneRun = f.TransformRunsRPS / f.TransformRPS
	}
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
	if f.Runs > 1 {
		fmt.Fprintf(tw, "rawland transform of the same records as %d runs\t%.0f\t%.2f× one run\n", f.Runs, f.TransformRunsRPS, f.RunsVsOneRun)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fast := "every record through gojsonschema"
	if f.Fast {
		fast = "fast validator, gojsonschema for the records it rejects"
	}
	_, err = fmt.Fprintf(a.stdout, "\nvalidation: %s\npeak RSS (MiB): ingest %.0f, read_json_auto %.0f, transform %.0f\n",
		fast, f.PeakRSSMiB.Ingest, f.PeakRSSMiB.ReadJSON, f.PeakRSSMiB.Transform)
	return err
}

// bareWalk GETs every page of a link-paged array listing (users) or an
// offset-paged listing with records under "data" (orders) the simplest
// way (no retries, no landing) and counts the records: the baseline.
func bareWalk(ctx context.Context, first string, s *config.Stream) (int64, error) {
	q := []string{}
	for k, v := range s.Params {
		q = append(q, k+"="+v)
	}
	offset := s.Name == mockapi.StreamOrders
	const limit = 200 // the mock config's offset page size
	page := func(offs int64) string {
		p := append([]string(nil), q...)
		if offset {
			p = append(p, fmt.Sprintf("limit=%d&offset=%d", limit, offs))
		}
		if len(p) == 0 {
			return first
		}
		return first + "?" + strings.Join(p, "&")
	}
	next := page(0)
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
		if offset {
			var env struct {
				Data []json.RawMessage `json:"data"`
			}
			err = json.Unmarshal(body, &env)
			recs = env.Data
		} else {
			err = json.Unmarshal(body, &recs)
		}
		if err != nil {
			return n, fmt.Errorf("page %d: %w", pages+1, err)
		}
		n += int64(len(recs))
		next = ""
		if offset {
			if len(recs) == limit {
				next = page(n)
			}
			continue
		}
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
