package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// roundKind is what a round does to the processes it starts.
type roundKind string

const (
	kindKill          roundKind = "kill"
	kindBrokenListing roundKind = "kill, broken full listings"
	kindENOSPC        roundKind = "full disk"
	kindReadOnly      roundKind = "read-only data dir"
)

// crashPoints are the named points (package crashpoint) a process may be
// told to die at.
var crashPoints = []string{
	"after_lease", "after_begin", "after_page:1", "after_page:2", "after_page:4",
	"after_part:1", "after_part:3", "after_manifest", "after_commit", "after_publish",
	"before_clear", "before_clear:2",
}

// round changes the upstream, runs the round's processes, checks what must
// hold at every moment, settles the data directory and checks everything.
func (h *Harness) round(ctx context.Context, kind roundKind) error {
	reconcile := h.mutate(kind)
	var procs []*Proc
	var err error
	switch kind {
	case kindKill, kindBrokenListing:
		h.Fig.KillRounds++
		if kind == kindBrokenListing {
			h.Fig.BrokenListings++
			h.breaker.on.Store(true)
		}
		for range max(h.cfg.Waves, 1) {
			var wave []*Proc
			if wave, err = h.killRound(); err != nil {
				break
			}
			procs = append(procs, wave...)
		}
		h.breaker.on.Store(false)
	case kindENOSPC:
		h.Fig.ENOSPCRounds++
		procs, err = h.diskRound(kind)
	case kindReadOnly:
		h.Fig.ReadOnlyRounds++
		procs, err = h.diskRound(kind)
	}
	if err != nil {
		return err
	}
	tProcs := time.Now()
	h.judge(kind, procs)
	truth, err := TruthOf(h.mock)
	if err != nil {
		return err
	}
	landed, err := h.check.CheckState(ctx, false)
	if err != nil {
		return err
	}
	if err := h.check.CheckWarehouse(ctx, landed, truth, false); err != nil {
		h.Fig.violate(&h.Fig.Unreadable, "after the round's processes the warehouse cannot be read: %v", err)
	}
	tCheck := time.Now()
	if err := h.settle(reconcile); err != nil {
		return err
	}
	tSettle := time.Now()
	if landed, err = h.check.CheckState(ctx, true); err != nil {
		return err
	}
	err = h.check.CheckWarehouse(ctx, landed, truth, true)
	h.cfg.Logf("  checks %s, settling %s, checks %s", tCheck.Sub(tProcs).Round(time.Millisecond), tSettle.Sub(tCheck).Round(time.Millisecond), time.Since(tSettle).Round(time.Millisecond))
	return err
}

// mutate changes the upstream before a round: records advance every round;
// every third round some are backdated and some deleted, which only a
// complete reconcile finds (so that round settles with one). A full-disk
// round gets more new records, so there is something to write. It reports
// whether the round must settle with a reconcile.
func (h *Harness) mutate(kind roundKind) (reconcile bool) {
	n := 5 + h.rng.IntN(20)
	if kind == kindENOSPC {
		n = 60
	}
	h.mock.Advance(n)
	if h.Fig.Rounds%3 == 2 {
		h.mock.Backdate(1 + h.rng.IntN(3))
		h.mock.Delete(1 + h.rng.IntN(3))
		return true
	}
	return false
}

// killRound starts 2..MaxProcs processes a little apart, each with a kill
// plan, and waits for all of them.
func (h *Harness) killRound() ([]*Proc, error) {
	k := 2 + h.rng.IntN(h.cfg.MaxProcs-1)
	procs := make([]*Proc, k)
	waits := make([]func(), 0, k)
	for i := range procs {
		p := &Proc{Args: h.command()}
		switch x := h.rng.Float64(); {
		case x < 0.15 && p.Args[0] != "transform":
			p.Plan.CrashPoint = crashPoints[h.rng.IntN(len(crashPoints))]
		case x < 0.92:
			p.Plan.After = time.Duration(20+h.rng.IntN(2500)) * time.Millisecond
		}
		procs[i] = p
		wait, err := h.run.start(p)
		if err != nil {
			for _, w := range waits {
				w()
			}
			return nil, err
		}
		waits = append(waits, wait)
		time.Sleep(time.Duration(h.rng.IntN(150)) * time.Millisecond)
	}
	for _, w := range waits {
		w()
	}
	return procs, nil
}

// command picks a rawland command line for a kill round.
func (h *Harness) command() []string {
	var args []string
	switch x := h.rng.IntN(9); {
	case x < 3:
		args = []string{"run", "--no-reconcile"}
	case x < 4:
		args = []string{"run"}
	case x < 6:
		args = []string{"ingest"}
	case x < 8:
		return []string{"transform"}
	default:
		args = []string{"reconcile"}
	}
	if h.rng.IntN(2) == 0 { // a subset of the streams
		streams := slices.Clone(h.check.Streams)
		h.rng.Shuffle(len(streams), func(i, j int) { streams[i], streams[j] = streams[j], streams[i] })
		args = append(args, streams[:1+h.rng.IntN(3)]...)
	}
	return args
}

// diskRound fills the disk or makes it read-only, runs processes without
// kills, and gives the disk back.
func (h *Harness) diskRound(kind roundKind) ([]*Proc, error) {
	var cmds [][]string
	if kind == kindENOSPC {
		// the slack decides where the disk runs out: in the state store, in
		// the raw landing, or in the warehouse
		slack := []int64{16 << 10, 256 << 10, 2 << 20}[h.rng.IntN(3)]
		if err := h.disk.Fill(slack); err != nil {
			return nil, err
		}
		cmds = [][]string{{"run", "--no-reconcile"}, {"ingest"}, {"transform"}}
	} else {
		if err := h.disk.ReadOnly(); err != nil {
			return nil, err
		}
		cmds = [][]string{{"run", "--no-reconcile"}, {"ingest"}, {"transform"}, {"reconcile"}}
	}
	var procs []*Proc
	for _, args := range cmds {
		p := &Proc{Args: args}
		if err := h.run.run(p); err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	return procs, h.disk.Restore()
}

// judge checks how each process of a round ended.
func (h *Harness) judge(kind roundKind, procs []*Proc) {
	f := &h.Fig
	f.Processes += len(procs)
	f.MostAtOnce = max(f.MostAtOnce, mostAtOnce(procs))
	for _, p := range procs {
		out := p.Output()
		if hasPanic(out) {
			f.violate(&f.Panics, "%s panicked:\n%s", p.Label(), tail(out))
		}
		if p.Hung {
			f.violate(&f.Hangs, "%s did not end within %s:\n%s", p.Label(), h.cfg.ProcTimeout, tail(out))
			continue
		}
		if p.Killed {
			f.Kills++
			if p.Plan.CrashPoint != "" && strings.Contains(out, "crashpoint: SIGKILL") {
				f.CrashPoints++
			}
			continue
		}
		f.Finished++
		f.Exits[p.Code]++
		if p.Code != 0 && strings.TrimSpace(out) == "" {
			f.violate(&f.Silent, "%s exited %d without a message", p.Label(), p.Code)
		}
		switch kind {
		case kindKill, kindBrokenListing:
			if p.Code != 0 && p.Code != 1 && p.Code != 75 {
				f.violate(&f.BadExits, "%s exited %d:\n%s", p.Label(), p.Code, tail(out))
			}
		case kindENOSPC:
			if strings.Contains(strings.ToLower(out), "no space left on device") {
				f.ENOSPCHit++
			}
		case kindReadOnly:
			refused := p.Code != 0 && strings.TrimSpace(out) != ""
			if refused {
				f.ReadOnlyFailed++
			} else if p.Args[0] != "transform" { // transform may have nothing to do
				f.violate(&f.BadExits, "%s exited %d on a read-only data dir:\n%s", p.Label(), p.Code, tail(out))
			}
		}
	}
}

// settle runs `rawland run --no-reconcile` and then, if asked to,
// `rawland reconcile`, each until it exits 0 (at most 6 times): whatever a
// round left behind, the next scheduled runs must repair it.
func (h *Harness) settle(reconcile bool) error {
	f := &h.Fig
	cmds := [][]string{{"run", "--no-reconcile"}}
	if reconcile {
		cmds = append(cmds, []string{"reconcile"})
	}
	for _, args := range cmds {
		for attempt := 1; ; attempt++ {
			p := &Proc{Args: args}
			if err := h.run.run(p); err != nil {
				return err
			}
			if p.Code != 0 {
				h.cfg.Logf("  settling: %s exited %d after %s:\n%s", p.Label(), p.Code, p.Duration.Round(time.Millisecond), failures(p.Output()))
			}
			f.SettleRuns++
			out := p.Output()
			if hasPanic(out) {
				f.violate(&f.Panics, "settling: %s panicked:\n%s", p.Label(), tail(out))
			}
			if p.Hung {
				f.violate(&f.Hangs, "settling: %s did not end within %s:\n%s", p.Label(), h.cfg.ProcTimeout, tail(out))
			}
			if p.Code == 0 {
				break
			}
			if attempt == 6 {
				f.violate(&f.Unsettled, "settling: %s exited %d six times; the last time:\n%s", p.Label(), p.Code, tail(out))
				break
			}
			f.SettleRetries++
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

// mostAtOnce is the largest number of procs that ran at the same moment.
func mostAtOnce(procs []*Proc) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var es []edge
	for _, p := range procs {
		es = append(es, edge{p.started, 1}, edge{p.started.Add(p.Duration), -1})
	}
	slices.SortFunc(es, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta // an end before a start at the same instant
	})
	n, most := 0, 0
	for _, e := range es {
		n += e.delta
		most = max(most, n)
	}
	return most
}

func hasPanic(out string) bool {
	return strings.HasPrefix(out, "panic: ") || strings.Contains(out, "\npanic: ") || strings.Contains(out, "fatal error: ")
}

// failures picks the lines of a process's output that say what failed.
func failures(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, " failed ") || strings.Contains(l, "rawland:") {
			keep = append(keep, l)
		}
	}
	return tail(strings.Join(keep, "\n"))
}

// tail is the end of a process's output, for a violation message.
func tail(out string) string {
	const n = 1500
	if len(out) > n {
		out = "…" + out[len(out)-n:]
	}
	return fmt.Sprintf("    %s", strings.ReplaceAll(strings.TrimRight(out, "\n"), "\n", "\n    "))
}
