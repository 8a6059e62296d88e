// Package s3test gives tests an S3-compatible HTTP server on 127.0.0.1 and
// an empty bucket in it: gofakes3, an S3 server written in Go (objects in
// memory), inside the test process (Start) or in a child process
// (StartProcess); or an existing server such as SeaweedFS or MinIO named by
// RAWLAND_TEST_S3_ENDPOINT. gofakes3 speaks the S3 REST protocol over HTTP,
// so the code under test goes through minio-go exactly as against AWS.
// (SeaweedFS was the first choice; building its `weed` binary from the
// module proxy takes longer than CI allows, see docs/scaleout.md.)
package s3test

import (
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is an S3-compatible endpoint with one empty bucket for the test.
type Server struct {
	Endpoint  string // host:port, plain HTTP
	Bucket    string
	AccessKey string
	SecretKey string
	// Kind is "seaweedfs" or "gofakes3".
	Kind string
}

var buckets atomic.Int64

// StartFake starts an in-process gofakes3 server (closed with the test) and
// creates a bucket in it.
func StartFake(t testing.TB) *Server {
	t.Helper()
	backend := s3mem.New()
	faker := gofakes3.New(backend)
	ts := httptest.NewServer(faker.Server())
	t.Cleanup(ts.Close)
	bucket := fmt.Sprintf("rawland-test-%d", buckets.Add(1))
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatalf("s3test: create bucket: %v", err)
	}
	return &Server{Endpoint: ts.Listener.Addr().String(), Bucket: bucket, AccessKey: "test-access", SecretKey: "test-secret-never-logged", Kind: "gofakes3"}
}
