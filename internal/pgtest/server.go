// Package pgtest starts a throwaway PostgreSQL server for tests: initdb into
// a temporary directory, postgres listening on 127.0.0.1 only (and a Unix
// socket in the same directory), trust authentication, stopped and removed
// by Stop. The machine may run tests as root, which postgres refuses; then
// the server runs as the unprivileged "postgres" user (runuser).
//
// Set RAWLAND_TEST_PG_DSN to a superuser DSN to use an existing server
// instead (the tests then create and drop their own databases on it).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoPostgres means no PostgreSQL server binary was found: tests skip.
var ErrNoPostgres = errors.New("no PostgreSQL binaries (initdb, postgres) found on PATH or under /usr/lib/postgresql/*/bin; install postgresql (apt-get install -y postgresql) to run these tests")

// Server is a running test server.
type Server struct {
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Dir is the data directory ("" for an external server).
	Dir string
	bin string
	// runAs is the user the server runs as ("" = this process's user);
	// cred holds its ids.
	runAs    string
	cred     *syscall.Credential
	external string // RAWLAND_TEST_PG_DSN, if used
	proc     *exec.Cmd
	exited   chan struct{}
	dbs      atomic.Int64
	fsync    string
}

// Options tunes Start.
type Options struct {
	// Fsync keeps PostgreSQL's fsync on (measurements); off by default.
	Fsync bool
}

// Start starts a server with default options.
func Start(ctx context.Context) (*Server, error) { return StartWith(ctx, Options{}) }

// StartWith starts a server. It returns ErrNoPostgres when PostgreSQL is
// not installed.
func StartWith(ctx context.Context, o Options) (*Server, error) {
	if dsn := os.Getenv("RAWLAND_TEST_PG_DSN"); dsn != "" {
		return &Server{external: dsn}, nil
	}
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		s.runAs = "postgres"
	}
	dir, err := os.MkdirTemp("", "rawland-pgtest-*")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s.Dir = dir
	if s.runAs != "" {
		u, err := user.Lookup(s.runAs)
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root, and postgres refuses root: need the unprivileged user %q (created by the postgresql package): %w", s.runAs, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.command(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %w: %s", err, out)
	}
	fsync := "off"
	if o.Fsync {
		fsync = "on"
	}
	s.fsync = fsync
	if err := s.start(ctx, fsync); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// start runs postgres on a free port and waits until it accepts
// connections.
func (s *Server) start(ctx context.Context, fsync string) error {
	if s.Port == 0 {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.Port = port
	}
	data := filepath.Join(s.Dir, "data")
	cmd := s.command(context.Background(), "postgres", "-D", data, "-p", strconv.Itoa(s.Port), "-h", "127.0.0.1", "-k", s.Dir,
		"-c", "fsync="+fsync, "-c", "max_connections=200", "-c", "shared_buffers=32MB")
	logf, err := os.OpenFile(filepath.Join(s.Dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Pdeathsig = true, syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	s.proc, s.exited = cmd, make(chan struct{})
	exited := s.exited
	go func() { cmd.Wait(); logf.Close(); close(exited) }() // the test helper owns the server process
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := pgx.Connect(ctx, s.dsn("postgres"))
		if err == nil {
			c.Close(ctx)
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "server.log"))
			return fmt.Errorf("pgtest: postgres exited at start: %s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.kill()
			return fmt.Errorf("pgtest: postgres did not accept connections within 30s: %w", err)
		}
	}
}

// Kill stops the server at once (SIGQUIT: no checkpoint, connections
// dropped), like a crash; Restart brings it back on the same port.
func (s *Server) Kill() {
	if s.proc != nil {
		s.proc.Process.Signal(syscall.SIGQUIT)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.proc.Process.Kill()
			<-s.exited
		}
		s.proc = nil
	}
}

func (s *Server) kill() {
	if s.proc != nil {
		s.proc.Process.Kill()
		<-s.exited
		s.proc = nil
	}
}

// Restart starts a server killed by Kill again on the same port.
func (s *Server) Restart(ctx context.Context) error {
	if s.external != "" {
		return errors.New("pgtest: cannot restart an external server")
	}
	return s.start(ctx, s.fsync)
}

// Stop shuts the server down and removes its directory.
func (s *Server) Stop() {
	if s.external != "" {
		return
	}
	if s.proc != nil {
		s.proc.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.proc.Process.Kill()
			<-s.exited
		}
		s.proc = nil
	}
	os.RemoveAll(s.Dir)
}

// Addr is the server's TCP address.
func (s *Server) Addr() string {
	if s.external != "" {
		cfg, err := pgx.ParseConfig(s.external)
		if err != nil {
			return ""
		}
		return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
}

func (s *Server) dsn(db string) string {
	if s.external != "" {
		cfg, _ := pgx.ParseConfig(s.external)
		return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", cfg.User, s.Addr(), db)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// DSNVia is the DSN of database db reached through addr (a proxy in
// front of the server).
func (s *Server) DSNVia(addr, db string) string {
	return strings.Replace(s.dsn(db), s.Addr(), addr, 1)
}

// NewDB creates a fresh database and returns its DSN.
func (s *Server) NewDB(ctx context.Context) (string, error) {
	name := fmt.Sprintf("rawland_test_%d_%d", os.Getpid(), s.dbs.Add(1))
	c, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.dsn(name), nil
}

func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = s.Dir
	// postgres refuses to run as root: run it as the unprivileged user
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	return cmd
}

// findBin finds the directory holding initdb and postgres.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
