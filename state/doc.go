// Package state is rawland's shared vocabulary for runs and the port to the
// state store: run IDs, run statuses, stream leases, cursors and the
// dead-letter queue. The stages (ingest, transform, reconcile) never talk to
// each other; they meet here and in the landing zone.
//
// A run's lifecycle: Begin (running) under the stream's lease → files made
// durable in the landing zone → Commit (committed, and the stream's cursor
// moves, in one transaction) → transform marks it transformed. A run that
// dies before Commit is abandoned by the next holder of the lease, which
// removes its files. The embedded backend is package state/sqlitestore; the
// conformance suite every backend must pass is package state/statetest.
package state
