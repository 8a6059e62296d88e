// Package pgstore is the PostgreSQL state.Store, for many rawland workers
// on many hosts: runs, cursors, leases, the dead-letter queue, the seen
// response paths and the per-source quota state live in one schema
// (default "rawland") of a database every worker reaches.
//
// Lifecycle: Open connects (the DSN comes from the environment, never the
// config file), applies the versioned migrations under an advisory lock
// (two workers starting at once migrate once), and returns a Store whose
// methods are each one transaction at READ COMMITTED with row locks:
//
//   - a lease is a row per stream whose expiry is PostgreSQL's clock
//     (clock_timestamp()), so hosts with skewed clocks agree on when it
//     ends; Acquire locks the row (SELECT … FOR UPDATE) before taking it;
//   - Commit and Reset lock the stream's lease row, check the caller still
//     holds it (fencing), check the cursor, then move run and cursor
//     together;
//   - a Commit whose connection breaks after COMMIT was sent cannot know
//     whether it took effect: the Store reconnects and reads the run back
//     (committed → success; still running → the commit is tried again)
//     for up to ResolveFor, then returns state.ErrCommitUnknown so the
//     caller keeps the run's files for the next holder to resolve;
//   - UpdateQuota (fetch.QuotaBackend) keeps each source's quota state in
//     a row updated under SELECT … FOR UPDATE, so every worker on every
//     host draws from one budget.
package pgstore
