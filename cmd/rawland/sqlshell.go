package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/peterh/liner"

	"github.com/rawland/rawland/transform"
)

// lineReader is what the SQL shell needs of a line editor; *liner.State is
// the terminal implementation, tests feed lines.
type lineReader interface {
	// Prompt shows p and returns one line: liner.ErrPromptAborted on
	// Ctrl-C, io.EOF on Ctrl-D.
	Prompt(p string) (string, error)
	AppendHistory(line string)
}

// shell is one interactive `rawland sql` session.
type shell struct {
	a      *app
	wh     string
	format string
	in     lineReader
	// query runs one statement; it is transform.Query outside tests.
	query func(ctx context.Context, wh, q, format string, w io.Writer) error
	// interrupts delivers Ctrl-C while a statement runs.
	interrupts <-chan os.Signal
}

const shellHelp = `Statements end with ; and may span lines. Ctrl-C cancels the running
statement or the line being typed; Ctrl-D or .quit leaves.
  .tables                    tables and views of the warehouse
  .schema [TABLE]            columns and types (of every stream table without TABLE)
  .mode table|csv|json|markdown   output format (now: %s)
  .help                      this text
  .quit / .exit              leave
The warehouse is opened read-only for each statement, so transforms are never blocked.`

// sqlShell runs the interactive console on a terminal: line editing,
// history kept in the user's state directory across sessions, Ctrl-C
// cancels the statement (or the line) and never the session.
func sqlShell(ctx context.Context, a *app, wh, format string) error {
	ed := liner.NewLiner()
	defer ed.Close()
	ed.SetCtrlCAborts(true)
	ed.SetMultiLineMode(true)
	hist := historyPath()
	if f, err := os.Open(hist); err == nil {
		ed.ReadHistory(f)
		f.Close()
	}
	defer saveHistory(ed, hist)
	ed.SetCompleter(func(line string) []string { return completeDot(line) })
	ints := make(chan os.Signal, 1)
	signal.Notify(ints, os.Interrupt)
	defer signal.Stop(ints)
	a.stop.consoleOwnsInterrupt(true)
	defer a.stop.consoleOwnsInterrupt(false)
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(terms)
	// SIGINT belongs to the shell (it cancels a statement); SIGTERM and
	// SIGHUP end the session.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go func() {
		select {
		case <-terms:
			cancel()
			ed.Close() // unblock the prompt; restores the terminal
		case <-sctx.Done():
		}
	}()
	fmt.Fprintf(a.stderr, "rawland sql on %s (read-only). End statements with ;  —  .help for commands, .quit to leave\n", wh)
	sh := &shell{a: a, wh: wh, format: format, in: ed, query: transform.Query, interrupts: ints}
	return sh.loop(sctx)
}

// loop reads and runs statements until EOF or .quit.
func (sh *shell) loop(ctx context.Context) error {
	var stmt strings.Builder
	for ctx.Err() == nil {
		prompt := "rawland> "
		if stmt.Len() > 0 {
			prompt = "    ...> "
		}
		line, err := sh.in.Prompt(prompt)
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			stmt.Reset() // Ctrl-C drops the statement being typed
			fmt.Fprintln(sh.a.stderr, "^C")
			continue
		case errors.Is(err, io.EOF):
			fmt.Fprintln(sh.a.stderr)
			return nil
		case err != nil:
			if ctx.Err() != nil {
				return nil // SIGTERM closed the editor
			}
			return err
		}
		trimmed := strings.TrimSpace(line)
		if stmt.Len() == 0 && strings.HasPrefix(trimmed, ".") {
			sh.in.AppendHistory(trimmed)
			if quit := sh.dot(ctx, trimmed); quit {
				return nil
			}
			continue
		}
		if trimmed == "" && stmt.Len() == 0 {
			continue
		}
		stmt.WriteString(line)
		stmt.WriteString("\n")
		if !strings.HasSuffix(trimmed, ";") {
			continue
		}
		q := stmt.String()
		stmt.Reset()
		sh.in.AppendHistory(strings.Join(strings.Fields(q), " "))
		sh.run(ctx, q)
	}
	return nil
}

// run executes one statement; Ctrl-C cancels it and the session goes on.
func (sh *shell) run(ctx context.Context, q string) {
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sh.interrupts:
			cancel()
		case <-done:
		}
	}()
	if err := sh.query(qctx, sh.wh, q, sh.format, sh.a.stdout); err != nil {
		if qctx.Err() != nil && ctx.Err() == nil {
			fmt.Fprintln(sh.a.stderr, "statement cancelled")
			return
		}
		fmt.Fprintf(sh.a.stderr, "error: %v\n", err)
	}
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// dot runs a dot command; it returns true to end the session.
func (sh *shell) dot(ctx context.Context, line string) bool {
	f := strings.Fields(line)
	switch f[0] {
	case ".quit", ".exit", ".q":
		return true
	case ".help", ".h":
		fmt.Fprintf(sh.a.stderr, shellHelp+"\n", sh.format)
	case ".mode":
		if len(f) != 2 || !slices.Contains([]string{transform.FormatTable, transform.FormatCSV, transform.FormatJSON, transform.FormatMarkdown}, f[1]) {
			fmt.Fprintf(sh.a.stderr, "usage: .mode table|csv|json|markdown (now %s)\n", sh.format)
			return false
		}
		sh.format = f[1]
	case ".tables":
		sh.run(ctx, `SELECT table_schema AS schema, table_name AS name, lower(table_type) AS kind
			FROM information_schema.tables WHERE table_schema NOT IN ('information_schema', 'pg_catalog')
			ORDER BY table_schema = 'main' DESC, 1, 2`)
	case ".schema":
		where := "table_schema = 'main'"
		if len(f) > 1 {
			if !identRE.MatchString(f[1]) {
				fmt.Fprintf(sh.a.stderr, ".schema: %q is not a table name\n", f[1])
				return false
			}
			schema, table, ok := strings.Cut(f[1], ".")
			if !ok {
				schema, table = "main", f[1]
			}
			where = fmt.Sprintf("table_schema = '%s' AND table_name = '%s'", schema, table)
		}
		sh.run(ctx, `SELECT table_name AS "table", column_name AS "column", data_type AS type, is_nullable AS nullable
			FROM information_schema.columns WHERE `+where+` ORDER BY table_name, ordinal_position`)
	default:
		fmt.Fprintf(sh.a.stderr, "unknown command %s: .help lists them\n", f[0])
	}
	return false
}

// completeDot completes dot commands at the start of a line.
func completeDot(line string) []string {
	var out []string
	for _, c := range []string{".tables", ".schema ", ".mode ", ".help", ".quit", ".exit"} {
		if strings.HasPrefix(c, line) {
			out = append(out, c)
		}
	}
	if m, ok := strings.CutPrefix(line, ".mode "); ok {
		for _, f := range []string{"table", "csv", "json", "markdown"} {
			if strings.HasPrefix(f, m) {
				out = append(out, ".mode "+f)
			}
		}
	}
	return out
}

// historyPath is where the console keeps its history: $XDG_STATE_HOME or
// ~/.local/state, under rawland/.
func historyPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "rawland", "sql_history")
}

func saveHistory(ed *liner.State, path string) {
	if path == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return
	}
	_, werr := ed.WriteHistory(f)
	if cerr := f.Close(); werr == nil && cerr == nil {
		os.Rename(tmp, path)
	} else {
		os.Remove(tmp)
	}
}
