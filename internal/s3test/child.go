package s3test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// childEnv makes a test binary serve gofakes3 instead of running tests.
const childEnv = "RAWLAND_S3TEST_SERVE_BUCKET"

// ServeIfChild serves S3 when this process was started by StartProcess,
// and never returns then; otherwise it returns at once. Call it first in
// TestMain of a package that uses StartProcess.
func ServeIfChild() {
	bucket := os.Getenv(childEnv)
	if bucket == "" {
		return
	}
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		fmt.Fprintln(os.Stderr, "s3test child:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3test child:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	// the parent holds our stdin: when it ends (the parent exited or
	// stopped us), so do we
	go func() { io.Copy(io.Discard, os.Stdin); os.Exit(0) }()
	srv := &http.Server{Handler: gofakes3.New(backend).Server(), ReadHeaderTimeout: 10 * time.Second}
	srv.Serve(ln)
	os.Exit(0)
}

// StartProcess starts gofakes3 in a child process (or uses the server
// RAWLAND_TEST_S3_ENDPOINT names) (the test binary again,
// see ServeIfChild), so that what the test process allocates is only the
// client's: memory tests measure the client alone. It is stopped with the
// test.
func StartProcess(t testing.TB) *Server {
	t.Helper()
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		return external(t, ep)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bucket := fmt.Sprintf("rawland-test-%d", buckets.Add(1))
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+bucket)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("s3test: the server process did not start: %v", err)
	}
	return &Server{Endpoint: strings.TrimSpace(line), Bucket: bucket, AccessKey: "test-access", SecretKey: "test-secret-never-logged", Kind: "gofakes3 (process)"}
}
