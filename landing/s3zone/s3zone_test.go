package s3zone_test

import (
	"os"
	"testing"

	"github.com/rawland/rawland/internal/s3test"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/landing/landingtest"
	"github.com/rawland/rawland/landing/s3zone"
)

func TestMain(m *testing.M) {
	s3test.ServeIfChild()
	os.Exit(m.Run())
}

// newZone lands in a bucket of an S3-compatible server in another process
// (so the memory case measures the client alone).
func newZone(t *testing.T) landing.Zone {
	srv := s3test.StartProcess(t)
	b, err := s3zone.New(s3zone.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: "lz", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	return landing.Zone{Dir: t.TempDir(), Backend: b}
}

func TestConformanceS3(t *testing.T) { landingtest.Run(t, newZone) }
