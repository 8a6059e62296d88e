package chaos

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Figures counts what a chaos run did and found. Violations are the failed
// checks, in order; the counters below them say which kind they were.
type Figures struct {
	Rounds         int
	KillRounds     int
	BrokenListings int // rounds in which full listings failed after their first page
	ENOSPCRounds   int
	ENOSPCHit      int // processes of ENOSPC rounds that reported "no space left on device"
	ReadOnlyRounds int
	ReadOnlyFailed int // processes that refused a read-only data dir with a message and a non-zero exit

	Processes      int // rawland processes started in rounds (settling not counted)
	MostAtOnce     int
	Kills          int // processes ended by SIGKILL (random moment or crash point)
	CrashPoints    int // of those, killed at a named crash point
	Finished       int // processes that ran to their end before their kill
	Exits          map[int]int
	SettleRuns     int // settling commands run (each until it exits 0)
	SettleRetries  int // settling commands that had to be repeated
	RecordsChecked int64

	Lost           int // live upstream records missing or stale after settling
	Duplicated     int // primary keys with more than one row
	Unaccounted    int // landed records neither in the table (at that version or newer) nor quarantined
	WronglyDeleted int // live upstream records marked deleted
	Ghosts         int // rows gone upstream but not marked deleted after a complete reconcile
	OrphanDirs     int // raw/ dirs of runs that are not committed, or staging/ dirs after settling
	MissingDirs    int // committed runs without their raw/ dir after settling
	BrokenRuns     int // committed runs whose files fail their manifest
	LockedStreams  int // streams still leased after settling
	Untransformed  int // committed runs not transformed after settling
	Panics         int
	Hangs          int
	Silent         int // non-zero exits without a message
	BadExits       int // exit codes outside 0, 1, 75 in kill rounds; 0 on a read-only data dir
	Unsettled      int // settling commands that never exited 0
	Violations     []string
	Unreadable     int   // the warehouse could not be read after a round's processes
	DataDirBytes   int64 // the data directory's size on its tmpfs after the last round
	Wall           time.Duration
}

// violate records a failed check.
func (f *Figures) violate(counter *int, format string, args ...any) {
	*counter++
	f.Violations = append(f.Violations, fmt.Sprintf("round %d: ", f.Rounds)+fmt.Sprintf(format, args...))
}

// OK reports whether every check held.
func (f *Figures) OK() bool { return len(f.Violations) == 0 }

// String prints the figures as an aligned table.
func (f *Figures) String() string {
	var b strings.Builder
	row := func(name string, v any) { fmt.Fprintf(&b, "  %-38s %v\n", name, v) }
	b.WriteString("chaos figures\n")
	row("rounds", f.Rounds)
	row("  with kills", f.KillRounds)
	row("  of those with broken full listings", f.BrokenListings)
	row("  full disk (ENOSPC)", fmt.Sprintf("%d (%d processes reported ENOSPC)", f.ENOSPCRounds, f.ENOSPCHit))
	row("  read-only data dir", fmt.Sprintf("%d (%d processes refused it)", f.ReadOnlyRounds, f.ReadOnlyFailed))
	row("processes started", f.Processes)
	row("most processes at once", f.MostAtOnce)
	row("SIGKILLs", fmt.Sprintf("%d (%d at crash points)", f.Kills, f.CrashPoints))
	row("processes finished before kill", f.Finished)
	codes := slices.Sorted(maps.Keys(f.Exits))
	var ex []string
	for _, c := range codes {
		ex = append(ex, fmt.Sprintf("%d×%d", f.Exits[c], c))
	}
	row("exit codes (count×code)", strings.Join(ex, " "))
	row("settling commands (repeated)", fmt.Sprintf("%d (%d)", f.SettleRuns, f.SettleRetries))
	row("records checked", f.RecordsChecked)
	row("lost", f.Lost)
	row("duplicated keys", f.Duplicated)
	row("landed but unaccounted", f.Unaccounted)
	row("live records marked deleted", f.WronglyDeleted)
	row("gone records not marked deleted", f.Ghosts)
	row("orphan dirs", f.OrphanDirs)
	row("committed runs missing from raw/", f.MissingDirs)
	row("committed runs not whole", f.BrokenRuns)
	row("streams left locked", f.LockedStreams)
	row("runs left untransformed", f.Untransformed)
	row("panics / hangs / silent exits", fmt.Sprintf("%d / %d / %d", f.Panics, f.Hangs, f.Silent))
	row("unexpected exit codes", f.BadExits)
	row("settling that never succeeded", f.Unsettled)
	row("warehouse unreadable after a round", f.Unreadable)
	if f.DataDirBytes > 0 {
		row("data dir at the end", fmt.Sprintf("%.1f MiB", float64(f.DataDirBytes)/(1<<20)))
	}
	row("violations", len(f.Violations))
	row("wall time", f.Wall.Round(time.Second))
	return b.String()
}
