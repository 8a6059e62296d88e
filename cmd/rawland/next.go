package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rawland/rawland/transform"
)

// printNext ends a command's per-stream table with the next actions the
// user needs, one per line ("" lines are skipped; nothing when none).
func printNext(a *app, actions []string) {
	var out []string
	seen := map[string]bool{}
	for _, s := range actions {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return
	}
	fmt.Fprintln(a.stdout)
	for _, s := range out {
		fmt.Fprintf(a.stdout, "next: %s\n", s)
	}
}

// ingestNext is what to do after an ingest.
func ingestNext(results []streamResult) []string {
	var out []string
	landed := false
	for _, r := range results {
		st, _ := ingestSummary(r)
		switch {
		case st == stFailed:
			out = append(out, fmt.Sprintf("%s failed: fix what its line says, then `rawland ingest %s` (nothing of it is half-written)", r.stream, r.stream))
		case r.res.DeadLettered > 0:
			out = append(out, fmt.Sprintf("`rawland dlq list %s` shows the requests that failed for good; `rawland dlq replay %s` retries them", r.stream, r.stream))
		}
		if len(r.res.Warnings) > 0 {
			out = append(out, fmt.Sprintf("fix the WARNING of %s in rawland.yaml", r.stream))
		}
		landed = landed || r.res.Run.Records > 0
	}
	if landed {
		out = append(out, "`rawland transform` loads what landed into the warehouse (`rawland run` does both)")
	}
	return out
}

// transformNext is what to do after a transform.
func transformNext(rep transform.Report) []string {
	var out []string
	for _, sr := range rep.Streams {
		if errors.Is(sr.Err, transform.ErrNoSchema) {
			out = append(out, fmt.Sprintf("`rawland schema draft %s --write` drafts the missing schema from the landed records", sr.Stream))
			continue
		}
		t := sr.Totals()
		if t.Quarantined > 0 {
			out = append(out, fmt.Sprintf("%d records of %s are quarantined: `rawland quarantine list %s` says why; fix the schema, then `rawland quarantine replay %s`", t.Quarantined, sr.Stream, sr.Stream, sr.Stream))
		}
	}
	var drifted []string
	for _, sr := range rep.Streams {
		for _, r := range sr.Runs {
			if len(r.Drift) > 0 {
				drifted = append(drifted, sr.Stream)
				break
			}
		}
	}
	if len(drifted) > 0 {
		out = append(out, fmt.Sprintf("the upstream's shape changed (%s): `rawland sql \"FROM rawland.drift_summary\"`", strings.Join(drifted, ", ")))
	}
	return out
}
