package s3zone

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/rawland/rawland/landing"
)

// Publish copies a run's objects from staging to raw server-side, the
// manifest last, then deletes the staging objects. A run whose manifest is
// already in raw is published: only staging leftovers are deleted. Two
// processes publishing at once copy the same bytes; either may finish.
func (b *Backend) Publish(ctx context.Context, stream, runID string) error {
	rawMan := b.key("raw", stream, runID, landing.ManifestFile)
	stage := b.runPrefix("staging", stream, runID)
	published, err := b.exists(ctx, rawMan)
	if err != nil {
		return fmt.Errorf("publish run %s of %s: %w", runID, stream, err)
	}
	if published {
		return b.removePrefix(ctx, stage)
	}
	keys, err := b.list(ctx, stage)
	if err != nil {
		return fmt.Errorf("publish run %s of %s: %w", runID, stream, err)
	}
	manifest := ""
	for _, k := range keys {
		if path.Base(k) == landing.ManifestFile {
			manifest = k
		}
	}
	if manifest == "" {
		// maybe another process published it between our two looks
		if ok, err := b.exists(ctx, rawMan); err == nil && ok {
			return b.removePrefix(ctx, stage)
		}
		return fmt.Errorf("publish run %s of %s: no manifest in s3://%s/%s: %w", runID, stream, b.bucket, stage, fs.ErrNotExist)
	}
	order := make([]string, 0, len(keys))
	for _, k := range keys {
		if k != manifest {
			order = append(order, k)
		}
	}
	order = append(order, manifest)
	for _, k := range order {
		dst := b.key("raw", stream, runID, strings.TrimPrefix(k, stage))
		_, err := b.c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b.bucket, Object: dst}, minio.CopySrcOptions{Bucket: b.bucket, Object: k})
		if err != nil {
			if ok, xerr := b.exists(ctx, rawMan); xerr == nil && ok {
				break // another process finished publishing (and deleted staging)
			}
			return fmt.Errorf("publish run %s of %s: copy %s: %w", runID, stream, path.Base(k), err)
		}
	}
	return b.removePrefix(ctx, stage)
}

// exists says whether an object is there.
func (b *Backend) exists(ctx context.Context, key string) (bool, error) {
	_, err := b.c.StatObject(ctx, b.bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, "NotFound":
		return false, nil
	}
	return false, fmt.Errorf("stat s3://%s/%s: %w", b.bucket, key, err)
}

// Remove deletes a run's objects in staging and raw, and its unfinished
// multipart uploads.
func (b *Backend) Remove(ctx context.Context, stream, runID string) error {
	for _, area := range []string{"staging", "raw"} {
		if err := b.removePrefix(ctx, b.runPrefix(area, stream, runID)); err != nil {
			return fmt.Errorf("remove run %s of %s: %w", runID, stream, err)
		}
	}
	return nil
}

// removePrefix deletes every object under prefix (the manifest last, so a
// crash halfway leaves a run that Publish or Recover still recognizes) and
// aborts unfinished uploads there.
func (b *Backend) removePrefix(ctx context.Context, prefix string) error {
	keys, err := b.list(ctx, prefix)
	if err != nil {
		return err
	}
	var man []string
	for _, k := range keys {
		if path.Base(k) == landing.ManifestFile {
			man = append(man, k)
			continue
		}
		if err := b.c.RemoveObject(ctx, b.bucket, k, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("delete s3://%s/%s: %w", b.bucket, k, err)
		}
	}
	for _, k := range man {
		if err := b.c.RemoveObject(ctx, b.bucket, k, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("delete s3://%s/%s: %w", b.bucket, k, err)
		}
	}
	for u := range b.c.ListIncompleteUploads(ctx, b.bucket, prefix, true) {
		if u.Err != nil {
			break // not every S3-compatible store lists uploads (a bucket lifecycle rule aborts them)
		}
		if err := b.c.RemoveIncompleteUpload(ctx, b.bucket, u.Key); err != nil {
			return fmt.Errorf("abort upload s3://%s/%s: %w", b.bucket, u.Key, err)
		}
	}
	return nil
}
