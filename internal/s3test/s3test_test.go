package s3test_test

import (
	"os"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/rawland/rawland/internal/s3test"
)

func TestMain(m *testing.M) {
	s3test.ServeIfChild()
	os.Exit(m.Run())
}

// TestStartVariants: each way of getting a server yields a reachable,
// existing bucket, including an external server named by
// RAWLAND_TEST_S3_ENDPOINT (here: a gofakes3 process standing in for one).
func TestStartVariants(t *testing.T) {
	proc := s3test.StartProcess(t)
	cases := []struct {
		name  string
		start func(t *testing.T) *s3test.Server
	}{
		{"in process", func(t *testing.T) *s3test.Server { return s3test.Start(t) }},
		{"child process", func(t *testing.T) *s3test.Server { return s3test.StartProcess(t) }},
		{"external", func(t *testing.T) *s3test.Server {
			t.Setenv(s3test.EnvEndpoint, proc.Endpoint)
			t.Setenv(s3test.EnvAccessKey, "k")
			t.Setenv(s3test.EnvSecretKey, "s")
			return s3test.Start(t)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := c.start(t)
			cl, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""), Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := cl.BucketExists(t.Context(), srv.Bucket); err != nil || !ok {
				t.Fatalf("bucket %s on %s (%s): exists %v, %v", srv.Bucket, srv.Endpoint, srv.Kind, ok, err)
			}
		})
	}
}
