package main

import (
	"encoding/json"
	"io"
	"os"
	"time"

	"github.com/rawland/rawland/state"
)

// runJSON is a run as `runs --json` and `status --json` print it
// (CONTRACT.md keys, plus a few extensions).
type runJSON struct {
	RunID        string     `json:"run_id"`
	Stream       string     `json:"stream"`
	Kind         string     `json:"kind"`
	Status       string     `json:"status"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at"`
	Records      int64      `json:"records"`
	CursorBefore string     `json:"cursor_before"`
	CursorAfter  string     `json:"cursor_after"`
	Error        string     `json:"error"`
	Bytes        int64      `json:"bytes"`
	Pages        int64      `json:"pages"`
	Complete     bool       `json:"complete"`
	Host         string     `json:"host"`
	PID          int        `json:"pid"`
	Report       any        `json:"report,omitempty"`
}

func toRunJSON(r state.Run) runJSON {
	out := runJSON{RunID: r.ID, Stream: r.Stream, Kind: string(r.Kind), Status: string(r.Status), StartedAt: r.StartedAt.UTC(),
		Records: r.Records, CursorBefore: r.CursorBefore, CursorAfter: r.CursorAfter, Error: r.Error,
		Bytes: r.Bytes, Pages: r.Pages, Complete: r.Complete, Host: r.Host, PID: r.PID}
	if !r.FinishedAt.IsZero() {
		t := r.FinishedAt.UTC()
		out.FinishedAt = &t
	}
	if r.Report != "" {
		out.Report = json.RawMessage(r.Report)
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
