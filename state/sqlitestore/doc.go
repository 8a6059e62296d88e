// Package sqlitestore is the embedded state.Store: one SQLite database
// (DATA/state/rawland.db, WAL mode, synchronous=FULL) that every rawland
// process on the machine shares. Transactions take the write lock up front
// (BEGIN IMMEDIATE) and wait for each other, so a commit of run and cursor is
// one atomic, durable step. It lives outside the DuckDB warehouse so that an
// analyst holding the warehouse never blocks ingestion.
package sqlitestore
