// Package landing owns the raw landing zone: how a run's records are written
// (JSON lines, rolled by size, optionally gzip or zstd), the run's manifest
// and page log, and how a run moves from staging to raw.
//
// The zone sits behind a port, Backend, with two implementations: DirBackend
// (DATA/staging and DATA/raw, on a local disk or a shared filesystem such as
// NFS/EFS) and the S3-compatible object store in landing/s3zone. The
// conformance suite in landing/landingtest runs the same cases against both.
//
// Lifecycle of a run's files: NewWriter opens the run's staging area; Write
// and Page stream records and page metadata, each part committed (fsync +
// rename, or a completed upload) as it rolls; Finish commits the page log and
// then the manifest, last; the caller commits the run in the state store —
// the commit point; Zone.Publish moves the run to raw. Only committed runs are
// ever published, and readers read only runs the state store says are
// committed (Zone.Records), rolling a committed run forward if a crash left it
// in staging. Recover, run by the holder of a stream's lease (and refused to
// anyone else), rolls committed runs forward and removes the rest, whichever
// host wrote them.
package landing
