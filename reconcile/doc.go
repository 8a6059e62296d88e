// Package reconcile is the weekly full resync's last step: given a landed,
// complete snapshot of a stream (a run of kind reconcile) it marks the
// warehouse rows whose primary key the upstream no longer lists with
// _rawland_deleted_at, inside the transaction in which transform merges the
// snapshot (so the repair and the deletions commit together). It also says
// when a stream's next reconcile is due.
//
// Lifecycle: `rawland reconcile` (or `run`, when Due) ingests the stream's
// full listing as a reconcile run, which never moves the cursor and is
// marked complete only if the listing was read to its end. Transform then
// merges it (records missing or different in the table are repaired, even
// when their cursor field is older: backdated updates) and calls MarkDeleted
// through its AfterRun hook. The comparison is an anti-join inside DuckDB
// between the table and the snapshot's keys, so memory stays bounded
// whatever the table's size. An incomplete snapshot marks nothing.
package reconcile
