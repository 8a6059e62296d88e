// Package chaos is rawland's chaos suite: it runs the real rawland binary
// against the built-in mock upstream (package mockapi) in many rounds, with
// two to four processes at once on one data directory, kills them with
// SIGKILL at random moments and at named crash points, fills the disk and
// makes the data directory read-only, and after every round checks the
// data directory and the warehouse against the mock's truth.
//
// Lifecycle of one round (Harness.Round):
//
//  1. the upstream changes (records advance, some are backdated, some are
//     deleted), so every round has new work;
//  2. the round's processes start (`run`, `ingest`, `transform`,
//     `reconcile`, on all streams or a random subset), each with a kill plan:
//     SIGKILL after a random delay, a crash point (RAWLAND_CRASHPOINT), or
//     none; a process that outlives its deadline is killed and counted as a
//     hang;
//  3. before anything repairs the damage, the checks that must hold at every
//     moment run (CheckState with settled=false, CheckWarehouse with
//     settled=false): every raw/ directory belongs to a committed run, every
//     committed run is whole, no key is duplicated, no live record is marked
//     deleted;
//  4. the data directory is settled: `rawland run --no-reconcile` and then
//     `rawland reconcile`, each repeated until it exits 0 (a stream that stays
//     blocked is a violation);
//  5. the full checks run against the mock's truth: no record lost (every
//     live upstream record is in its table at its current version, or
//     quarantined at that version), no key duplicated, raw/ holds exactly the
//     committed runs and staging/ nothing, no stream is left leased, every
//     committed run is transformed, and quarantine + table account for every
//     landed record.
//
// Disk rounds need root (they mount a tmpfs over the data directory): an
// ENOSPC round shrinks the tmpfs to just above what is used before the
// processes start, a read-only round remounts it read-only; either way the
// processes must fail with a message (never exit 0 with work undone, never
// panic, never hang) and the settled data directory must have lost nothing.
//
// The test TestChaos runs a short version inside `go test ./...`; with
// RAWLAND_CHAOS=long it runs until at least RAWLAND_CHAOS_KILLS (default
// 200) processes were killed (`go tool task chaos`). Figures summarises a
// run.
package chaos
