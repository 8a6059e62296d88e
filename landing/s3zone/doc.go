// Package s3zone is the landing zone's S3-compatible object-store backend
// (landing.Backend), through github.com/minio/minio-go/v7. It works with AWS
// S3, MinIO, SeaweedFS, Ceph RGW and other S3-compatible stores.
//
// Layout under the bucket and prefix:
//
//	PREFIX/staging/<stream>/<run_id>/<file>   runs being written
//	PREFIX/raw/<stream>/<run_id>/<file>       runs published after they committed
//
// A run's part files are uploaded while they are written (a multipart upload
// fed through a pipe: memory per open file is one upload part, PartSize, not
// the file), then the page log, then the manifest — last. The run's commit
// in the state store is the commit point. Publish then copies the run's
// objects server-side from staging to raw (the manifest last) and deletes
// the staging objects; it is idempotent, so whoever finds a committed run
// still in staging (the next lease holder, a transform) rolls it forward.
// A run that never committed is never copied to raw: Recover deletes its
// staging objects (and its unfinished multipart uploads).
//
// Unlike a directory rename, the copy to raw is not atomic: a reader that
// lists raw/ by itself may see a run whose manifest is not there yet. rawland
// reads only runs the state store says are committed, through their manifest;
// other readers should do the same (read PREFIX/raw/<stream>/<run>/manifest.json
// and the files it lists).
//
// Credentials come only from the environment (see config: landing.s3); they
// are never logged, and Location never contains them.
package s3zone
