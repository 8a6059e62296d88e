// Package transform turns landed raw runs into typed DuckDB tables.
//
// It owns the warehouse (DATA/warehouse.duckdb): one table per stream,
// main.<stream>, typed from the stream's JSON Schema, plus the bookkeeping
// tables rawland.runs, rawland.transformed, rawland.quarantine and
// rawland.drift and the views shipped in sql/. It reads the landing zone and
// the state store; it never writes either, except to mark runs transformed.
//
// Lifecycle of a transform:
//
//  1. CompileSchemas compiles every stream's schema once (gojsonschema,
//     draft-07) and derives the table's columns from it (see coltype.go
//     for the mapping). A $ref may name only files inside the config's
//     directory tree or transform.schema_ref_dirs, never the network
//     (schema_ref.go). A schema that does not compile or a refused $ref is
//     a *config.Error: the command exits 2 and nothing changes.
//  2. Run takes the working database's lock (waiting up to LockWait while
//     another rawland process holds it; ErrWarehouseBusy after that,
//     nothing done), prepares the private working database
//     (DATA/state/warehouse/work.duckdb) if the last publish handed it to
//     readers (step 5), and opens it read-write. Readers never open it,
//     so they never block the job and are never blocked by it.
//  3. Per stream: the table is created or evolved (new properties become new
//     columns; a changed or narrowed type stops the stream with a
//     *config.Error before anything is altered). Then every committed run
//     not yet in the warehouse, oldest first:
//     a. the run's records stream from the landing zone in batches of
//     Transform.BatchSize; a bounded pool checks and converts the batches
//     on all cores: the fast validator compiled from the schema
//     (fastval*.go) decides on the raw bytes, and the records it accepts
//     are converted straight from the bytes into the Arrow builders
//     (bytesarrow*.go, no map[string]any); rejected or unsure records
//     take the gojsonschema path (check.go), which writes the quarantine
//     reasons, and differential tests hold both paths to the same
//     results; valid rows travel as Arrow record batches into a temp
//     staging table, invalid records into a temp quarantine table with
//     every error, shape changes are counted for rawland.drift. Staging
//     runs outside any transaction, one statement per batch, so that a
//     batch DuckDB refuses for its data is bisected down to the records it
//     refuses, which are quarantined with DuckDB's message (bisect.go);
//     only a failure of the warehouse itself (I/O, memory, interrupt)
//     fails the run;
//     b. one DuckDB transaction begins; the quarantined records are copied
//     into rawland.quarantine;
//     c. the staged rows are merged into the stream's table (merge.go:
//     one row per primary key; stale versions never overwrite newer ones);
//     d. for reconcile runs the AfterRun hook runs inside the transaction;
//     e. the run is recorded in rawland.transformed and the transaction
//     commits: all of the run's effects appear together or not at all;
//     f. the state store marks the run transformed. A crash between e and
//     f is repaired by the next transform, which finds the marker and only
//     updates the state store.
//  4. rawland.runs is refreshed from the state store (only when it
//     changed) and the sql/ views are (re)created when sql/ changed; the
//     working database is checkpointed and closed.
//  5. publish (snapshot.go): when the working database changed since the
//     last publish (its checkpoint iteration differs), the pages in which
//     it differs from the snapshot it replaces are recorded in a delta
//     file (patch.go), then the file itself, fsynced, becomes the
//     snapshot by a hard link and renames over
//     DATA/warehouse.duckdb (no data copied): readers see the previous
//     snapshot or the new one, never a mix, and keep the one they have open
//     until they close it. published.json records when and the per-stream
//     counts. The previous snapshot keeps a private name; the next write
//     session makes the working database only from files no outside
//     session has written since: that snapshot with the delta written into
//     it, when no reader can have it open, else a copy of the published
//     snapshot or of the previous one plus the delta (prepare.go).
//
// ReplayQuarantine re-validates quarantined records against the current
// schemas and merges those that now pass, one transaction per run. The
// raw landing is never modified; it publishes like Run. Query opens the
// published snapshot read-only for `rawland sql`; Counts and Published
// read its manifest for `rawland status` without opening any database.
package transform
