package s3zone

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
	"github.com/sourcegraph/conc/pool"

	"github.com/rawland/rawland/landing"
)

// errAborted ends an upload whose file was discarded.
var errAborted = errors.New("upload aborted")

// Create starts uploading file name of a run to staging. The bytes written
// flow through a pipe into a multipart upload of unknown length: memory is
// one part (PartSize) per open file. Commit completes the upload (the
// object exists only then); Abort cancels it.
func (b *Backend) Create(ctx context.Context, stream, runID, name string) (landing.File, error) {
	key := b.key("staging", stream, runID, name)
	pr, pw := io.Pipe()
	u := &upload{pw: pw, key: key, p: pool.New().WithErrors()}
	u.p.Go(func() error {
		_, err := b.c.PutObject(ctx, b.bucket, key, pr, -1, minio.PutObjectOptions{
			PartSize: b.partSize, ContentType: "application/octet-stream",
			// the body is not signed chunk by chunk (UNSIGNED-PAYLOAD):
			// every S3-compatible store accepts that, not every one decodes
			// aws-chunked bodies; use secure: true (TLS) for integrity on
			// the wire, and the manifest's sha256 checks every part on read
			DisableContentSha256: true,
		})
		if err != nil {
			err = fmt.Errorf("upload s3://%s/%s: %w", b.bucket, key, err)
			pr.CloseWithError(err) // unblock the writer
			return err
		}
		pr.Close()
		return nil
	})
	return u, nil
}

// upload is one object being uploaded.
type upload struct {
	pw   *io.PipeWriter
	key  string
	p    *pool.ErrorPool
	done bool
}

func (u *upload) Write(p []byte) (int, error) { return u.pw.Write(p) }

// Commit ends the stream and waits for the upload to complete.
func (u *upload) Commit() error {
	if u.done {
		return fmt.Errorf("commit %s: already ended", u.key)
	}
	u.done = true
	u.pw.Close()
	return u.p.Wait()
}

// Abort cancels the upload: the client aborts the multipart upload, and no
// object is created.
func (u *upload) Abort() {
	if u.done {
		return
	}
	u.done = true
	u.pw.CloseWithError(errAborted)
	u.p.Wait()
}
