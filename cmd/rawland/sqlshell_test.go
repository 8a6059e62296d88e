package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peterh/liner"

	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/transform"
)

// script is a lineReader that plays lines (or errors) in order, then EOF.
type script struct {
	steps   []any // string or error
	history []string
	// before is called before each step is returned (lets a test act
	// while "the user types").
	before func(i int)
	i      int
}

func (s *script) Prompt(string) (string, error) {
	if s.i >= len(s.steps) {
		return "", io.EOF
	}
	if s.before != nil {
		s.before(s.i)
	}
	st := s.steps[s.i]
	s.i++
	if err, ok := st.(error); ok {
		return "", err
	}
	return st.(string), nil
}

func (s *script) AppendHistory(l string) { s.history = append(s.history, l) }

type call struct{ q, format string }

func newTestShell(steps ...any) (*shell, *script, *[]call, *bytes.Buffer, chan<- os.Signal) {
	var calls []call
	var errb bytes.Buffer
	in := &script{steps: steps}
	ints := make(chan os.Signal, 1)
	sh := &shell{a: &app{stdout: io.Discard, stderr: &errb}, wh: "w.duckdb", format: transform.FormatTable, in: in, interrupts: ints,
		query: func(ctx context.Context, wh, q, format string, w io.Writer) error {
			calls = append(calls, call{strings.TrimSpace(q), format})
			if strings.Contains(q, "slow") {
				<-ctx.Done() // a statement that runs until cancelled
				return ctx.Err()
			}
			return nil
		}}
	return sh, in, &calls, &errb, ints
}

func TestShellStatementsModesAndCtrlC(t *testing.T) {
	sh, in, calls, errb, _ := newTestShell(
		"SELECT 1", "  + 1;", // one statement over two lines
		"SELECT 'typed'", liner.ErrPromptAborted, // Ctrl-C drops the half-typed statement
		".mode markdown", "SELECT 2;",
		".mode yaml",
		".tables", ".schema users", ".schema x';DROP",
		".frob",
		".quit", "SELECT 'never';",
	)
	if err := sh.loop(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := *calls
	if len(got) != 4 {
		t.Fatalf("%d statements ran, want 4: %+v", len(got), got)
	}
	if got[0].q != "SELECT 1\n  + 1;" || got[0].format != "table" {
		t.Errorf("first statement %+v", got[0])
	}
	if got[1].q != "SELECT 2;" || got[1].format != "markdown" {
		t.Errorf("after .mode markdown: %+v", got[1])
	}
	if !strings.Contains(got[2].q, "information_schema.tables") {
		t.Errorf(".tables ran %q", got[2].q)
	}
	if !strings.Contains(got[3].q, "table_name = 'users'") {
		t.Errorf(".schema users ran %q", got[3].q)
	}
	for _, want := range []string{"^C", "usage: .mode", `"x';DROP" is not a table name`, "unknown command .frob"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if strings.Join(in.history, "|") != "SELECT 1 + 1;|.mode markdown|SELECT 2;|.mode yaml|.tables|.schema users|.schema x';DROP|.frob|.quit" {
		t.Errorf("history %q", in.history)
	}
}

// TestShellCtrlCCancelsTheStatementNotTheSession: an interrupt while a
// statement runs cancels it; the next statement still runs.
func TestShellCtrlCCancelsTheStatementNotTheSession(t *testing.T) {
	sh, _, calls, errb, ints := newTestShell("SELECT slow;", "SELECT after;")
	interruptDuring(t, sh, ints, 50*time.Millisecond, 10*time.Second)
	if len(*calls) != 2 || (*calls)[1].q != "SELECT after;" {
		t.Fatalf("statements: %+v", *calls)
	}
	if !strings.Contains(errb.String(), "statement cancelled") {
		t.Errorf("stderr: %s", errb.String())
	}
}

// TestShellCancelsARealDuckDBQuery: the interrupt reaches DuckDB, which
// stops a query that would run for minutes.
func TestShellCancelsARealDuckDBQuery(t *testing.T) {
	_, dir := mockProject(t, mockapi.Options{Seed: 1, Size: 20})
	mustRun(t, dir, "run", "users")
	var out, errb bytes.Buffer
	ints := make(chan os.Signal, 1)
	sh := &shell{a: &app{stdout: &out, stderr: &errb}, wh: filepath.Join(dir, "data", "warehouse.duckdb"), format: transform.FormatTable,
		in:    &script{steps: []any{"SELECT count(*) FROM range(1000000000000) t(i) WHERE i % 7 = 3;", "SELECT count(*) AS n FROM users;"}},
		query: transform.Query, interrupts: ints}
	interruptDuring(t, sh, ints, 500*time.Millisecond, 60*time.Second)
	if !strings.Contains(errb.String(), "statement cancelled") || !strings.Contains(out.String(), "20") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
}

// interruptDuring runs the shell's loop, sends one Ctrl-C after delay, and
// fails the test if the loop has not ended within limit (the statement
// was not cancelled).
func interruptDuring(t *testing.T, sh *shell, ints chan<- os.Signal, delay, limit time.Duration) {
	t.Helper()
	go func() {
		time.Sleep(delay)
		ints <- os.Interrupt
	}()
	done := make(chan error, 1)
	go func() { done <- sh.loop(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(limit):
		t.Fatalf("the interrupt did not cancel the statement within %s", limit)
	}
}
