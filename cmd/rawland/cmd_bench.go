package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/transform"
)

func init() {
	register(&command{
		name:    "bench",
		usage:   "[--size N] [--stream users|orders] [--runs N] [--repeat N] [--profile DIR] [--json]",
		summary: "measure ingest and transform on the mock upstream against baselines measured in the same run",
		run:     runBench,
	})
}

// benchFigures is what `bench --json` prints: rates in records/s, ratios
// as plain numbers (rawland's rate over its baseline's). read_json_auto
// and the transforms each run as a process of their own (runStep): their
// rates count that process's wall time, their CPU is its user + system
// time, and their peak RSS is its own.
type benchFigures struct {
	Stream                  string  `json:"stream"`
	Fast                    bool    `json:"fast_validator"` // the stream's schema has a fast validator
	Records                 int64   `json:"records"`
	FetchBaselineRPS        float64 `json:"fetch_baseline_records_per_s"`
	IngestRPS               float64 `json:"ingest_records_per_s"`
	IngestVsFetch           float64 `json:"ingest_vs_fetch_baseline"`
	ReadJSONBaselineRPS     float64 `json:"duckdb_read_json_records_per_s"`
	ReadJSONCPUSeconds      float64 `json:"duckdb_read_json_cpu_s"`
	ReadJSONCPUMicrosPerRec float64 `json:"duckdb_read_json_cpu_us_per_record"`
	TransformRPS            float64 `json:"transform_records_per_s"`
	TransformCPUSeconds     float64 `json:"transform_cpu_s"`
	// TransformCPUMicrosPerRec is the transform's CPU per record: on a
	// shared machine a steadier figure than its rate.
	TransformCPUMicrosPerRec float64 `json:"transform_cpu_us_per_record"`
	TransformVsReadJSON      float64 `json:"transform_vs_read_json_baseline"`
	// The durable baseline: DuckDB's read_json typing the records with the
	// stream's columns into a table of a DuckDB file (compressed, written,
	// checkpointed) under the transform's memory limit (at least 128MiB,
	// read_json's own buffers need it): what DuckDB itself
	// takes to store the same values durably, validating nothing. With
	// --repeat, medians, run alternately with the other two.
	DurableBaselineRPS     float64 `json:"duckdb_durable_read_json_records_per_s"`
	DurableCPUMicrosPerRec float64 `json:"duckdb_durable_read_json_cpu_us_per_record"`
	TransformVsDurable     float64 `json:"transform_vs_durable_read_json_baseline"`
	// Repeat > 1 (bench --repeat N): read_json_auto and the transform ran
	// N times, alternately; rates, CPU and the ratio above are medians
	// (the ratio is the median of the pairs' ratios, Pairs), peak RSS the
	// highest of the N.
	Repeat int       `json:"repeat,omitempty"`
	Pairs  []float64 `json:"transform_vs_read_json_pairs,omitempty"`
	// Runs > 1 (bench --runs N): the same records landed as Runs runs,
	// transformed, and their rate over the one run's.
	Runs                         int     `json:"runs,omitempty"`
	TransformRunsRPS             float64 `json:"transform_runs_records_per_s,omitempty"`
	TransformRunsCPUSeconds      float64 `json:"transform_runs_cpu_s,omitempty"`
	TransformRunsCPUMicrosPerRec float64 `json:"transform_runs_cpu_us_per_record,omitempty"`
	RunsVsOneRun                 float64 `json:"transform_runs_vs_one_run,omitempty"`
	// PeakRSSMiB: ingest is the bench process's peak after ingest (the
	// mock upstream serves from it too); read_json, transform and
	// transform_runs are the peaks of their own processes. 0 where not
	// known (no /proc).
	PeakRSSMiB struct {
		Ingest        float64 `json:"ingest"`
		ReadJSON      float64 `json:"read_json"`
		Durable       float64 `json:"durable_read_json"`
		Transform     float64 `json:"transform"`
		TransformRuns float64 `json:"transform_runs,omitempty"`
	} `json:"peak_rss_mib"`
}

// runBench starts the mock upstream on loopback and measures, on one
// stream: a bare HTTP walk of its pages (the floor any ingest pays), rawland
// ingest (fetch + land + fsync + commit), DuckDB's own read_json_auto of the
// landed files into a table (the floor of any load), and rawland transform
// (validate + type + merge). Everything runs in a temporary data directory;
// read_json_auto and transform run as child processes (runStep).
func runBench(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	size := fs.Int("size", 100000, "records in the stream")
	stream := fs.String("stream", mockapi.StreamUsers, "mock stream: users (flat, link-paged) or orders (nested objects, arrays, enums, patterns, formats)")
	profile := fs.String("profile", "", "write CPU profiles of ingest and transform (ingest.pprof, transform.pprof; transform-runs.pprof with --runs) into this directory")
	asJSON := fs.Bool("json", false, "print one JSON object of figures")
	runs := fs.Int("runs", 1, "also land the same records as N runs and transform them (N small runs against one run)")
	repeat := fs.Int("repeat", 1, "run the read_json_auto baseline and the transform N times, alternately, and report medians (the ratio: the median of the N pairs' ratios), for a machine whose speed drifts")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("bench takes no arguments")
	}
	if *runs < 1 || int64(*runs) > int64(*size) {
		return usagef("bench --runs: %d is not between 1 and --size (%d)", *runs, *size)
	}
	if *repeat < 1 || *repeat > 99 {
		return usagef("bench --repeat: %d is not between 1 and 99", *repeat)
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
	cfgPath := filepath.Join(dir, "rawland.yaml")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	streams, err := cfg.Select([]string{*stream})
	if err != nil {
		return usagef("%v", err)
	}
	a.cfg, a.dataFlag = cfg, cfg.DataDir
	f := benchFigures{Stream: *stream}
	profilePath := func(name string) string {
		if *profile == "" {
			return ""
		}
		return filepath.Join(*profile, name)
	}

	// 1. baseline: a bare walk of the stream's pages, records counted
	t0 := time.Now()
	n, err := bareWalk(ctx, url+streams[0].Path, streams[0])
	if err != nil {
		return fmt.Errorf("baseline walk: %w", err)
	}
	f.FetchBaselineRPS = float64(n) / time.Since(t0).Seconds()

	// 2. rawland ingest, in this process (it needs the mock upstream)
	stopProf := func() {}
	if p := profilePath("ingest.pprof"); p != "" {
		if stopProf, err = startProfile(p); err != nil {
			return fmt.Errorf("bench --profile: %w", err)
		}
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
	f.IngestVsFetch = f.IngestRPS / f.FetchBaselineRPS

	// 3. baseline: DuckDB reads the landed files into a table, and
	// 4. rawland transform, as `rawland transform STREAM` (again: with
	// --rebuild), alternately --repeat times
	glob := filepath.Join(a.zone().Dir, "raw", *stream, "*", "*.jsonl*")
	schemas, err := transform.CompileSchemas(cfg)
	if err != nil {
		return err
	}
	f.Fast = schemas[*stream].FastValidator()
	store, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	var rjs, trs, dus []childRun
	durable := filepath.Join(dir, "durable-baseline.duckdb")
	defer os.Remove(durable)
	for i := range *repeat {
		rj, err := runStep(ctx, a, dir, "", "bench-read-json", glob)
		if err != nil {
			return fmt.Errorf("baseline read_json_auto: %w", err)
		}
		if got := strings.TrimSpace(rj.stdout); got != strconv.FormatInt(f.Records, 10) {
			return fmt.Errorf("baseline read_json_auto read %q rows, want %d", got, f.Records)
		}
		du, err := runStep(ctx, a, dir, "", "bench-read-json", "--columns", schemas[*stream].ReadJSONColumns(),
			"--file", durable, "--memory-limit", config.FormatSize(max(int64(cfg.Transform.MemoryLimit), 128<<20)), glob)
		if err != nil {
			return fmt.Errorf("durable baseline read_json: %w", err)
		}
		if got := strings.TrimSpace(du.stdout); got != strconv.FormatInt(f.Records, 10) {
			return fmt.Errorf("durable baseline read_json read %q rows, want %d", got, f.Records)
		}
		if err := os.Remove(durable); err != nil {
			return err
		}
		dus = append(dus, du)
		prof := ""
		if i == 0 {
			prof = profilePath("transform.pprof")
		}
		tr, err := benchTransform(ctx, a, dir, prof, cfgPath, a.dataDir(), *stream, store, f.Records, i > 0)
		if err != nil {
			return err
		}
		rjs, trs = append(rjs, rj), append(trs, tr)
		if *repeat > 1 {
			f.Pairs = append(f.Pairs, rj.wall.Seconds()/tr.wall.Seconds())
		}
	}
	rj, tr := medianRun(rjs), medianRun(trs)
	f.ReadJSONBaselineRPS = float64(f.Records) / rj.wall.Seconds()
	f.ReadJSONCPUSeconds, f.ReadJSONCPUMicrosPerRec = rj.cpu.Seconds(), rj.cpuMicrosPer(f.Records)
	f.PeakRSSMiB.ReadJSON = rj.peakRSSMiB
	f.TransformRPS = float64(f.Records) / tr.wall.Seconds()
	f.TransformCPUSeconds, f.TransformCPUMicrosPerRec = tr.cpu.Seconds(), tr.cpuMicrosPer(f.Records)
	f.PeakRSSMiB.Transform = tr.peakRSSMiB
	f.TransformVsReadJSON = f.TransformRPS / f.ReadJSONBaselineRPS
	du := medianRun(dus)
	f.DurableBaselineRPS = float64(f.Records) / du.wall.Seconds()
	f.DurableCPUMicrosPerRec = du.cpuMicrosPer(f.Records)
	f.PeakRSSMiB.Durable = du.peakRSSMiB
	f.TransformVsDurable = f.TransformRPS / f.DurableBaselineRPS
	if *repeat > 1 {
		f.Repeat = *repeat
		f.TransformVsReadJSON = median(f.Pairs)
	}
	if *runs > 1 {
		f.Runs = *runs
		rr, err := benchRuns(ctx, a, dir, cfgPath, *stream, results[0].res.Run.ID, *runs, profilePath("transform-runs.pprof"))
		if err != nil {
			return err
		}
		f.TransformRunsRPS = float64(f.Records) / rr.wall.Seconds()
		f.TransformRunsCPUSeconds, f.TransformRunsCPUMicrosPerRec = rr.cpu.Seconds(), rr.cpuMicrosPer(f.Records)
		f.PeakRSSMiB.TransformRuns = rr.peakRSSMiB
		f.RunsVsOneRun = f.TransformRunsRPS / f.TransformRPS
	}

	if *asJSON {
		return writeJSON(a.stdout, f)
	}
	return printBench(a, f)
}

// median is the median of xs (the mean of the middle two for an even
// count); xs is not changed.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianRun is the run of the median wall time of runs (the lower middle
// one for an even count), with its CPU time the median CPU time and its
// peak RSS the highest.
func medianRun(runs []childRun) childRun {
	walls := make([]time.Duration, len(runs))
	cpus := make([]time.Duration, len(runs))
	var peak float64
	for i, r := range runs {
		walls[i], cpus[i] = r.wall, r.cpu
		peak = max(peak, r.peakRSSMiB)
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	m := runs[0]
	m.wall, m.cpu, m.peakRSSMiB = walls[(len(walls)-1)/2], cpus[(len(cpus)-1)/2], peak
	return m
}

// printBench prints the figures as a table.
func printBench(a *app, f benchFigures) error {
	mib := func(v float64) string {
		if v <= 0 {
			return "?"
		}
		return fmt.Sprintf("%.0f MiB", v)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "stream %s, %d records, mock upstream on loopback\n", f.Stream, f.Records)
	if f.Repeat > 1 {
		fmt.Fprintf(tw, "the baselines and the transform ran %d times each, alternately: medians, and the highest peak RSS; transform ÷ read_json_auto per pair:", f.Repeat)
		for _, r := range f.Pairs {
			fmt.Fprintf(tw, " %.2f×", r)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "STEP\tRECORDS/S\tVS BASELINE\tCPU µs/RECORD\tPEAK RSS")
	fmt.Fprintf(tw, "baseline: bare HTTP walk of the pages\t%.0f\t\t\t\n", f.FetchBaselineRPS)
	fmt.Fprintf(tw, "rawland ingest (fetch, land, fsync, commit)\t%.0f\t%.2f×\t\t%s (with the mock)\n", f.IngestRPS, f.IngestVsFetch, mib(f.PeakRSSMiB.Ingest))
	fmt.Fprintf(tw, "baseline: DuckDB read_json_auto into a table\t%.0f\t\t%.2f\t%s\n", f.ReadJSONBaselineRPS, f.ReadJSONCPUMicrosPerRec, mib(f.PeakRSSMiB.ReadJSON))
	fmt.Fprintf(tw, "baseline: DuckDB read_json, the stream's columns, into a DuckDB file\t%.0f\t\t%.2f\t%s\n", f.DurableBaselineRPS, f.DurableCPUMicrosPerRec, mib(f.PeakRSSMiB.Durable))
	fmt.Fprintf(tw, "rawland transform (validate, type, merge)\t%.0f\t%.2f×\t%.2f\t%s\n", f.TransformRPS, f.TransformVsReadJSON, f.TransformCPUMicrosPerRec, mib(f.PeakRSSMiB.Transform))
	fmt.Fprintf(tw, "same, ÷ the DuckDB-file baseline\t\t%.2f×\t\t\n", f.TransformVsDurable)
	if f.Runs > 1 {
		fmt.Fprintf(tw, "rawland transform of the same records as %d runs\t%.0f\t%.2f× one run\t%.2f\t%s\n", f.Runs, f.TransformRunsRPS, f.RunsVsOneRun, f.TransformRunsCPUMicrosPerRec, mib(f.PeakRSSMiB.TransformRuns))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fast := "every record through gojsonschema"
	if f.Fast {
		fast = "fast validator, gojsonschema for the records it rejects"
	}
	_, err := fmt.Fprintf(a.stdout, "\nvalidation: %s\nthe baselines and the transform each ran as a process of its own: CPU is its user + system time, peak RSS its own VmHWM\n", fast)
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
