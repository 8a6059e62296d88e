// Command rawland is the raw-landing ELT pipeline: ingest, transform,
// reconcile and the scheduled run, plus status, history and SQL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/sourcegraph/conc"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/transform"
)

// Exit codes (CONTRACT.md).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
	exitBusy   = 75
)

// command is one subcommand; each lives in its own cmd_<name>.go file and
// registers itself in init.
type command struct {
	name    string
	usage   string // one line: arguments and flags
	summary string
	// help is optional longer text for `rawland COMMAND -h`.
	help string
	// needsConfig: load and validate rawland.yaml before run.
	needsConfig bool
	// hidden: internal, left out of `rawland -h` (bench-read-json)
	hidden bool
	run    func(ctx context.Context, a *app, args []string) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// app is what every command gets: global flags, the loaded config, logger
// and output streams.
type app struct {
	configPath string
	dataFlag   string
	logFormat  string
	logLevel   string
	// logLevelSet: --log-level was given
	logLevelSet bool

	cfg    *config.Config
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer
	store  state.Store
	// landing is the landing zone's object-store backend (nil: the data
	// directory); see openLanding.
	landing landing.Backend
	// stop ends the process promptly on signals and panics (nil when run
	// in-process by tests).
	stop *stopper
}

// usageError is a bad command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// busyError: another run holds what this command needs: exit 75.
type busyError struct{ err error }

func (e *busyError) Error() string { return e.err.Error() }
func (e *busyError) Unwrap() error { return e.err }

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain is main with signal handling: the first SIGINT or SIGTERM
// stops the command gracefully (exit 128+signal), a second one or a stop
// longer than stopGrace exits at once (see stopper).
func realMain(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	st := newStopper(cancel, stderr, stopGrace, os.Exit)
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigc)
	done := make(chan struct{})
	var wg conc.WaitGroup
	wg.Go(func() { st.watch(sigc, done) })
	code := runWith(ctx, st, args, stdout, stderr)
	close(done)
	wg.Wait()
	if sig := st.interrupted(); sig != nil && code != exitOK {
		fmt.Fprintf(stderr, "rawland: stopped by %s: work in flight was rolled back and leases released; run the command again to continue\n", sigName(sig))
		return signalCode(sig)
	}
	return code
}

// run runs one rawland command line in-process (no signal handling).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, nil, args, stdout, stderr)
}

func runWith(ctx context.Context, st *stopper, args []string, stdout, stderr io.Writer) (code int) {
	a := &app{stdout: stdout, stderr: stderr, stop: st}
	defer a.recoverCommand(&code)
	fs := flag.NewFlagSet("rawland", flag.ContinueOnError)
	fs.SetOutput(stderr)
	a.globalFlags(fs)
	fs.Usage = func() { printUsage(stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fs.Visit(func(f *flag.Flag) { a.logLevelSet = a.logLevelSet || f.Name == "log-level" })
	rest := fs.Args()
	if len(rest) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	cmd, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "rawland: unknown command %q\n\n", rest[0])
		printUsage(stderr)
		return exitUsage
	}
	if err := a.setupLog(); err != nil {
		fmt.Fprintf(stderr, "rawland: %v\n", err)
		return exitUsage
	}
	if wantsHelp(rest[1:]) {
		// help never needs a config, a data directory or a state store
		printCommandHelp(ctx, a, stdout, cmd, rest[1:])
		return exitOK
	}
	// set by bench for the steps it runs as child processes (bench_child.go)
	hooksDone, err := childHooks()
	if err != nil {
		fmt.Fprintf(stderr, "rawland: %v\n", err)
		return exitUsage
	}
	defer hooksDone() // last, after a.close: profile and peak cover the whole command
	if cmd.needsConfig {
		if err := a.loadConfig(); err != nil {
			fmt.Fprintf(stderr, "rawland: %v\n", err)
			return exitUsage
		}
	}
	defer a.close()
	err = cmd.run(ctx, a, rest[1:])
	return a.exitCode(cmd, err)
}

func (a *app) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&a.configPath, "config", "rawland.yaml", "config file")
	fs.StringVar(&a.dataFlag, "data", "", "data directory (overrides the config's data_dir)")
	fs.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error (demo and bench: warn unless given)")
}

func (a *app) exitCode(cmd *command, err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var held *state.LeaseHeldError
	var be *busyError
	var code int
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "rawland %s: %v\nusage: rawland %s %s\n", cmd.name, err, cmd.name, cmd.usage)
		return exitUsage
	case errors.Is(err, config.ErrInvalid):
		code = exitUsage
	case errors.As(err, &held), errors.As(err, &be):
		code = exitBusy
	case errors.Is(err, errStreamsFailed):
		// the per-stream lines already said why; the data directory may
		// say what to do
		if hint := a.hint(err); hint != "" {
			a.printErr(cmd, exitFailed, nil, hint)
		}
		return exitFailed
	default:
		code = exitFailed
	}
	hint := ""
	if code == exitFailed {
		hint = a.hint(err)
	}
	a.printErr(cmd, code, err, hint)
	return code
}

// hint diagnoses the data directory after a failure (dataDirHint).
func (a *app) hint(err error) string {
	if a.cfg == nil && a.dataFlag == "" {
		return ""
	}
	return dataDirHint(a.dataDir(), err)
}

// printErr reports a failed command: a line on stderr, or with
// --log-format json a log record (cron reads one format).
func (a *app) printErr(cmd *command, code int, err error, hint string) {
	if a.logFormat == "json" && a.log != nil {
		attrs := []any{"command", cmd.name, "exit_code", code}
		if err != nil {
			attrs = append(attrs, "err", err.Error())
		}
		if hint != "" {
			attrs = append(attrs, "hint", hint)
		}
		a.log.Error("command failed", attrs...)
		return
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "rawland %s: %v\n", cmd.name, err)
	}
	if hint != "" {
		fmt.Fprintf(a.stderr, "rawland %s: hint: %s\n", cmd.name, hint)
	}
}

// errStreamsFailed: at least one stream failed and its error was printed.
var errStreamsFailed = errors.New("at least one stream failed")

func (a *app) setupLog() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
		return fmt.Errorf("bad --log-level %q: use debug, info, warn or error", a.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch a.logFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	default:
		return fmt.Errorf("bad --log-format %q: use text or json", a.logFormat)
	}
	return nil
}

// quietLogs lowers the default log level to warn for commands that print
// their own summary (demo, bench); an explicit --log-level still wins.
func (a *app) quietLogs() error {
	if a.logLevelSet {
		return nil
	}
	a.logLevel = "warn"
	return a.setupLog()
}

func (a *app) loadConfig() error {
	cfg, err := config.Load(a.configPath)
	if err != nil {
		return err
	}
	flag := ""
	if a.dataFlag != "" {
		cfg.DataDir, flag = a.dataFlag, "--data"
	}
	if err := cfg.CheckDataDir(cfg.DataDir, flag); err != nil {
		return err
	}
	// every schema must compile before anything runs (exit 2 otherwise)
	if _, err := transform.CompileSchemas(cfg); err != nil {
		return err
	}
	a.cfg = cfg
	return nil
}

// dataDir is the data directory: --data, else the config's data_dir, else ./data.
func (a *app) dataDir() string {
	if a.dataFlag != "" {
		return a.dataFlag
	}
	if a.cfg != nil && a.cfg.DataDir != "" {
		return a.cfg.DataDir
	}
	return "data"
}

func (a *app) warehousePath() string { return filepath.Join(a.dataDir(), "warehouse.duckdb") }

func (a *app) close() {
	if a.store != nil {
		a.store.Close()
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: rawland [--config FILE] [--data DIR] [--log-format text|json] [--log-level L] COMMAND [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(w, "  %-11s %s\n", n, c.summary)
		if c.usage != "" {
			fmt.Fprintf(w, "  %-11s   rawland %s %s\n", "", n, c.usage)
		}
	}
	fmt.Fprintln(w, "\nexit codes: 0 ok · 1 a stream failed · 2 bad usage/config/schema · 70 internal error · 75 busy (another run holds the stream or warehouse) · 130/143 stopped by SIGINT/SIGTERM")
}

// wantsHelp reports whether a command's arguments ask for help (-h,
// -help or --help anywhere before a "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// printCommandHelp prints one command's usage, summary and flags. The
// flags are found by running the command in flag-listing mode: its
// parseFlags call lists them and returns errFlagsListed before the command
// reads a config or touches a data directory.
func printCommandHelp(ctx context.Context, a *app, w io.Writer, c *command, args []string) {
	fmt.Fprintf(w, "usage: rawland [global flags] %s %s\n\n%s\n", c.name, c.usage, c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", c.help)
	}
	var sub []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub = args[:1] // dlq list -h, schema draft -h
	}
	if flags := commandFlags(ctx, a, c, sub); flags != "" {
		fmt.Fprintf(w, "\nflags:\n%s", flags)
	}
	fmt.Fprintln(w, "\nglobal flags: --config FILE (default ./rawland.yaml) · --data DIR · --log-format text|json · --log-level debug|info|warn|error")
}

// errFlagsListed ends a command run in flag-listing mode.
var errFlagsListed = errors.New("flags listed")

// listFlags, when set, receives the FlagSet parseFlags is given instead of
// parsing it (help mode).
var listFlags func(*flag.FlagSet)

// commandFlags returns the defaults text of the flags c defines (for the
// subcommand in sub, if any), or "" when it defines none.
func commandFlags(ctx context.Context, a *app, c *command, sub []string) string {
	var buf strings.Builder
	listFlags = func(fs *flag.FlagSet) {
		fs.SetOutput(&buf)
		fs.PrintDefaults()
	}
	defer func() { listFlags = nil }()
	ha := &app{stdout: io.Discard, stderr: io.Discard, log: a.log}
	func() {
		defer func() { recover() }() // a command that needs more than its flags lists none
		c.run(ctx, ha, append(slices.Clone(sub), "-h"))
	}()
	return buf.String()
}

// parseFlags parses a command's flags and allows them before or after
// positional arguments (rawland runs issues --json).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	if listFlags != nil {
		listFlags(fs)
		return nil, errFlagsListed
	}
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
