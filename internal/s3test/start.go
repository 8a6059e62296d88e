package s3test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Environment variables that point the tests at an existing S3-compatible
// server (SeaweedFS, MinIO, AWS) instead of gofakes3. The access and secret
// keys are read from RAWLAND_TEST_S3_ACCESS_KEY and RAWLAND_TEST_S3_SECRET_KEY;
// every test creates (and empties and removes) its own bucket there.
const (
	EnvEndpoint  = "RAWLAND_TEST_S3_ENDPOINT" // host:port, plain HTTP
	EnvAccessKey = "RAWLAND_TEST_S3_ACCESS_KEY"
	EnvSecretKey = "RAWLAND_TEST_S3_SECRET_KEY"
)

// Start returns a server for the test: the one RAWLAND_TEST_S3_ENDPOINT
// names, else an in-process gofakes3.
func Start(t testing.TB) *Server {
	t.Helper()
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		return external(t, ep)
	}
	return StartFake(t)
}

// external makes a fresh bucket on an existing server.
func external(t testing.TB, endpoint string) *Server {
	t.Helper()
	s := &Server{Endpoint: endpoint, AccessKey: os.Getenv(EnvAccessKey), SecretKey: os.Getenv(EnvSecretKey), Kind: "external"}
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatalf("s3test: %s: %v", EnvEndpoint, err)
	}
	s.Bucket = fmt.Sprintf("rawland-test-%d-%d", time.Now().UnixNano(), buckets.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatalf("s3test: create bucket on %s: %v", endpoint, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for o := range c.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				c.RemoveObject(ctx, s.Bucket, o.Key, minio.RemoveObjectOptions{})
			}
		}
		c.RemoveBucket(ctx, s.Bucket)
	})
	return s
}
