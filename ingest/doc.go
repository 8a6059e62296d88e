// Package ingest is rawland's first stage: it pulls records from HTTP APIs
// and lands them raw, exactly as received, under a new run ID, committing
// the stream's cursor atomically with the landing.
//
// Lifecycle of one stream's run (Stream):
//
//  1. take the stream's lease in the state store (a second process gets a
//     *state.LeaseHeldError naming the holder; the CLI exits 75) and keep
//     renewing it in the background;
//  2. clean what dead runs left (landing.Zone.Recover: roll committed runs
//     forward into raw/, abandon and delete the rest);
//  3. begin the run, read the committed cursor, and walk the upstream:
//     rest.go builds the requests (request.go: the URL, a POST's JSON body,
//     page headers), pagination_*.go find the next page (a loop or a
//     repeated page stops the walk) and pagination_end.go decides whether
//     the walk ended or was cut short, records.go cuts the records out of
//     the body without re-encoding them, cursor.go tracks the high-water
//     mark;
//  4. every page's records stream into the run's staging files
//     (landing.Writer); memory is one page;
//  5. make the files durable (manifest last), then commit run and cursor in
//     one state-store transaction, refused if the cursor moved or the lease
//     was lost; publish the directory into raw/.
//
// A delta-queue stream (deltaqueue.go) runs list → fetch → commit → clear
// cycles instead, one committed run per cycle, and dead-letters permanent
// failures (dlq.go replays them). Reconcile runs (Options.Kind) read the
// full listing and never move the cursor. HTTP is ingest/fetch's job:
// retries, quotas, the lockout guard, limits and request logs.
package ingest
