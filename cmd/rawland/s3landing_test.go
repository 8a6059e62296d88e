package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/rawland/rawland/internal/s3test"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/landing/s3zone"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

// s3Cfg lands in an S3-compatible bucket; state stays in SQLite.
const s3Cfg = `
data_dir: data
lease_ttl: 3s
landing:
  roll_bytes: 4KiB
  compression: gzip
  backend: s3
  s3: {endpoint: "{{ENDPOINT}}", bucket: "{{BUCKET}}", prefix: lz, secure: false, region: us-east-1, access_key_env: RAWLAND_TEST_S3_AK, secret_key_env: RAWLAND_TEST_S3_SK}
sources:
  api: {base_url: "{{URL}}", retry: {max_attempts: 2, initial_backoff: 1ms, max_backoff: 10ms}}
` + thingsStreamYAML

// s3Project writes a project landing in srv's bucket and exports its keys.
func s3Project(t *testing.T, srv *s3test.Server, url string) string {
	t.Helper()
	cfg := strings.NewReplacer("{{ENDPOINT}}", srv.Endpoint, "{{BUCKET}}", srv.Bucket).Replace(s3Cfg)
	dir := project(t, cfg, url)
	t.Setenv("RAWLAND_TEST_S3_AK", srv.AccessKey)
	t.Setenv("RAWLAND_TEST_S3_SK", srv.SecretKey)
	return dir
}

// s3Keys lists the object keys under the bucket's lz/<area>/things/.
func s3Keys(t *testing.T, srv *s3test.Server, area string) []string {
	t.Helper()
	c, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for o := range c.ListObjects(t.Context(), srv.Bucket, minio.ListObjectsOptions{Prefix: "lz/" + area + "/things/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, strings.TrimPrefix(o.Key, "lz/"+area+"/things/"))
	}
	return keys
}

// TestS3LandingEndToEnd runs ingest and transform with the landing zone in
// an S3-compatible server: nothing lands in DATA/raw or DATA/staging, the
// bucket holds the committed run under raw/ and nothing under staging/,
// the warehouse has every record, and the secret key is in no output.
func TestS3LandingEndToEnd(t *testing.T) {
	srv := s3test.Start(t)
	hs := httptest.NewServer(newUpstream(35))
	defer hs.Close()
	dir := s3Project(t, srv, hs.URL)
	t.Setenv("RAWLAND_TEST_S3_SK", "")
	code, out, errOut := rawland(t, dir, "ingest")
	if code != exitUsage || !strings.Contains(errOut, "landing.s3.secret_key_env") || !strings.Contains(errOut, "RAWLAND_TEST_S3_SK is not set") {
		t.Fatalf("without the secret key: exit %d, %s%s", code, out, errOut)
	}
	t.Log(strings.TrimSpace(errOut))
	t.Setenv("RAWLAND_TEST_S3_SK", srv.SecretKey)
	good, _ := os.ReadFile(filepath.Join(dir, "rawland.yaml"))
	os.WriteFile(filepath.Join(dir, "rawland.yaml"), []byte(strings.Replace(string(good), srv.Bucket, "no-such-bucket", 1)), 0o644)
	code, out, errOut = rawland(t, dir, "ingest")
	if code != exitUsage || !strings.Contains(errOut, "landing.s3.bucket: bucket no-such-bucket does not exist") {
		t.Fatalf("with a missing bucket: exit %d, %s%s", code, out, errOut)
	}
	t.Log(strings.TrimSpace(errOut))
	os.WriteFile(filepath.Join(dir, "rawland.yaml"), good, 0o644)
	for _, args := range [][]string{{"--log-level", "debug", "ingest"}, {"--log-level", "debug", "transform"}, {"schema", "draft", "things"}} {
		code, out, errOut := rawland(t, dir, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		if strings.Contains(out+errOut, srv.SecretKey) {
			t.Fatalf("%v printed the secret key", args)
		}
	}
	for _, d := range []string{"raw", "staging"} {
		if _, err := os.Stat(filepath.Join(dir, "data", d)); err == nil {
			t.Fatalf("DATA/%s exists with the s3 backend", d)
		}
	}
	store, err := sqlitestore.Open(t.Context(), filepath.Join(dir, "data", "state", "rawland.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	runs, err := store.List(t.Context(), state.RunFilter{Stream: "things"})
	if err != nil || len(runs) != 1 || runs[0].Status != state.StatusTransformed || runs[0].Records != 35 {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	raw := s3Keys(t, srv, "raw")
	if !slices.Contains(raw, runs[0].ID+"/manifest.json") || !slices.Contains(raw, runs[0].ID+"/part-00001.jsonl.gz") {
		t.Fatalf("raw/ objects: %v", raw)
	}
	if st := s3Keys(t, srv, "staging"); len(st) != 0 {
		t.Fatalf("staging/ objects left: %v", st)
	}
	code, out, _ = rawland(t, dir, "sql", "SELECT count(*) AS n FROM things")
	if code != 0 || !strings.Contains(out, "35") {
		t.Fatalf("warehouse: exit %d\n%s", code, out)
	}
}

// TestS3LandingCrashAnywhereLosesNothing kills `rawland ingest` landing in
// S3 at named points and at random moments, then runs it normally: every
// record version is in a committed run, every committed run is whole, raw/
// holds exactly the committed runs, staging/ is empty (an orphan of a run
// killed before its commit is removed, a committed one is published).
func TestS3LandingCrashAnywhereLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): crash matrix runs child processes")
	}
	srv := s3test.Start(t)
	rng := rand.New(rand.NewPCG(3, 4))
	up := newUpstream(80)
	hs := httptest.NewServer(up)
	defer hs.Close()
	dir := s3Project(t, srv, hs.URL)
	b, err := s3zone.New(s3zone.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: "lz", Region: "us-east-1", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	zone := landing.Zone{Dir: filepath.Join(dir, "data"), Backend: b}
	points := []string{"after_page:2", "after_part:1", "after_manifest", "after_commit", "after_publish", "random:1", "random:2"}
	for round, point := range points {
		up.change(rng, 10)
		cmd := child(t, dir, []string{"RAWLAND_CRASHPOINT=" + point}, "ingest", "things")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(point, "random") {
			time.Sleep(time.Duration(20*round) * time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
		}
		cmd.Wait()
		if !strings.HasPrefix(point, "random") {
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("round %d: the child was not killed at %s (exit %d)", round, point, cmd.ProcessState.ExitCode())
			}
		}
		if code, out, errOut := rawland(t, dir, "ingest", "things"); code != 0 {
			t.Fatalf("round %d (%s): the run after the crash exited %d:\n%s%s", round, point, code, out, errOut)
		}
		checkS3Landing(t, dir, srv, zone, up.truth(), point)
	}
}

func checkS3Landing(t *testing.T, dir string, srv *s3test.Server, zone landing.Zone, truth map[string]bool, point string) {
	t.Helper()
	ctx := context.Background()
	store := openTestState(t, dir)
	defer store.Close()
	runs, _ := store.List(ctx, state.RunFilter{Stream: "things", Status: []state.Status{state.StatusCommitted}})
	seen := map[string]bool{}
	var committed []string
	for _, r := range runs {
		committed = append(committed, r.ID)
		n := int64(0)
		_, err := zone.Records(ctx, "things", r.ID, func(rec landing.Record) error {
			var v struct{ ID, Version int }
			if err := json.Unmarshal(rec.Data, &v); err != nil {
				return err
			}
			seen[fmt.Sprintf("%d:%d", v.ID, v.Version)] = true
			n++
			return nil
		})
		if err != nil || n != r.Records {
			t.Fatalf("after %s: committed run %s: %d records (state says %d), %v", point, r.ID, n, r.Records, err)
		}
	}
	for k := range truth {
		if !seen[k] {
			t.Fatalf("after %s: upstream record version %s is in no committed run", point, k)
		}
	}
	var inRaw []string
	for _, k := range s3Keys(t, srv, "raw") {
		if id, name, _ := strings.Cut(k, "/"); name == landing.ManifestFile {
			inRaw = append(inRaw, id)
		}
	}
	slices.Sort(inRaw)
	slices.Sort(committed)
	if !slices.Equal(inRaw, committed) {
		t.Fatalf("after %s: raw/ holds %v, committed runs are %v", point, inRaw, committed)
	}
	if st := s3Keys(t, srv, "staging"); len(st) != 0 {
		t.Fatalf("after %s: staging/ still holds %v after a clean run", point, st)
	}
}
