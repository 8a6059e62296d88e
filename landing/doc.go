// Package landing owns the raw landing zone under the data directory: how a
// run's records are written (JSON lines, rolled by size, optionally gzip or
// zstd, each file written under a temporary name, fsynced and renamed), the
// run's manifest and page log, and how a run moves from staging/ to raw/.
//
// Lifecycle of a run's files: NewWriter creates DATA/staging/<stream>/<run>;
// Write and Page stream records and page metadata; Finish makes everything
// durable and writes the manifest; the caller commits the run in the state
// store; Zone.Publish renames the directory into DATA/raw/<stream>/<run>.
// Only committed runs ever appear under raw/, so a glob over raw/ (DuckDB's
// read_json_auto) never sees a partial run. Recover, run by the next holder
// of a stream's lease, rolls committed runs forward and removes the rest.
package landing
