package s3zone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/rawland/rawland/landing"
)

// MinPartSize is the smallest upload part S3 accepts (the last part of an
// object may be smaller).
const MinPartSize = 5 << 20

// Config says where the zone is and how to reach it.
type Config struct {
	Endpoint string // host[:port], e.g. s3.eu-west-1.amazonaws.com or 127.0.0.1:8333
	Bucket   string
	Prefix   string // key prefix inside the bucket ("" = the bucket's root)
	Region   string // "" lets the client ask the server
	Secure   bool   // https
	// AccessKey and SecretKey are the credentials (read from the
	// environment by the caller). Both empty: anonymous access.
	AccessKey, SecretKey string
	// PartSize is the multipart upload part size: the memory each file
	// being uploaded holds (default and minimum MinPartSize).
	PartSize int64
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
}

// ErrNoBucket means the configured bucket does not exist.
var ErrNoBucket = errors.New("the bucket does not exist: create it (rawland never creates buckets)")

// Backend keeps runs in an S3-compatible bucket.
type Backend struct {
	c        *minio.Client
	bucket   string
	prefix   string
	partSize uint64
}

var _ landing.Backend = (*Backend)(nil)

// New returns the backend for cfg. It does not contact the server; Check
// does.
func New(cfg Config) (*Backend, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("s3 landing zone: endpoint and bucket are required")
	}
	if cfg.PartSize < MinPartSize {
		cfg.PartSize = MinPartSize
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	} else {
		creds = credentials.New(&credentials.Static{}) // anonymous
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: creds, Secure: cfg.Secure, Region: cfg.Region, Transport: cfg.Transport})
	if err != nil {
		// the endpoint is not a secret; the credentials are never in err
		return nil, fmt.Errorf("s3 landing zone %s: %w", cfg.Endpoint, err)
	}
	return &Backend{c: c, bucket: cfg.Bucket, prefix: strings.Trim(cfg.Prefix, "/"), partSize: uint64(cfg.PartSize)}, nil
}

// Check verifies that the bucket exists and is reachable with the
// credentials.
func (b *Backend) Check(ctx context.Context) error {
	ok, err := b.c.BucketExists(ctx, b.bucket)
	if err != nil {
		return fmt.Errorf("s3 landing zone: bucket %s: %w", b.bucket, err)
	}
	if !ok {
		return fmt.Errorf("bucket %s: %w", b.bucket, ErrNoBucket)
	}
	return nil
}

func (b *Backend) key(area, stream, runID, name string) string {
	return path.Join(b.prefix, area, stream, runID, name)
}

func (b *Backend) runPrefix(area, stream, runID string) string {
	return path.Join(b.prefix, area, stream, runID) + "/"
}

// Location is s3://BUCKET/PREFIX/raw/<stream>/<run_id>.
func (b *Backend) Location(stream, runID string) string {
	return "s3://" + b.bucket + "/" + path.Join(b.prefix, "raw", stream, runID)
}

// Open reads an object of a published run. The object is streamed.
func (b *Backend) Open(ctx context.Context, stream, runID, name string) (io.ReadCloser, error) {
	key := b.key("raw", stream, runID, name)
	obj, err := b.c.GetObject(ctx, b.bucket, key, minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat()
	}
	if err != nil {
		if obj != nil {
			obj.Close()
		}
		return nil, b.wrap("open", key, err)
	}
	return obj, nil
}

// wrap turns a missing object or bucket into fs.ErrNotExist.
func (b *Backend) wrap(op, key string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, minio.NoSuchBucket:
		return fmt.Errorf("%s s3://%s/%s: %w (%w)", op, b.bucket, key, fs.ErrNotExist, err)
	}
	return fmt.Errorf("%s s3://%s/%s: %w", op, b.bucket, key, err)
}

// list returns the keys under prefix, sorted.
func (b *Backend) list(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for o := range b.c.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", b.bucket, prefix, o.Err)
		}
		keys = append(keys, o.Key)
	}
	sort.Strings(keys)
	return keys, nil
}

// StagedRuns lists the run IDs with objects under PREFIX/staging/<stream>/.
func (b *Backend) StagedRuns(ctx context.Context, stream string) ([]string, error) {
	prefix := path.Join(b.prefix, "staging", stream) + "/"
	seen := map[string]bool{}
	var ids []string
	// Recursive: the objects themselves, never "directories". A store
	// backed by a filesystem (SeaweedFS's filer) keeps a run's prefix as
	// an empty directory after its objects are deleted and lists it as a
	// common prefix; that is not a staged run.
	for o := range b.c.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list staging of %s: s3://%s/%s: %w", stream, b.bucket, prefix, o.Err)
		}
		if strings.HasSuffix(o.Key, "/") {
			continue // a directory marker, not an object
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(o.Key, prefix), "/")
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	// unfinished uploads of a run that crashed before any object completed
	for u := range b.c.ListIncompleteUploads(ctx, b.bucket, prefix, true) {
		if u.Err != nil {
			break // not every S3-compatible store lists uploads; the objects above are what matter
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(u.Key, prefix), "/")
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}
