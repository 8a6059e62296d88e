package transform

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// workLock is the exclusive right to work on the working database and
// publish it: one rawland process at a time. Readers of the published
// warehouse never take it.
type workLock struct{ f *os.File }

// lockWork takes the working database's lock, waiting up to wait for
// another rawland process to release it (logging it every few seconds),
// then returns a *WarehouseBusyError.
func lockWork(ctx context.Context, lay layout, wait time.Duration, log *slog.Logger) (*workLock, error) {
	if err := os.MkdirAll(lay.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", lay.dir, err)
	}
	f, err := os.OpenFile(lay.lock, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", lay.lock, err)
	}
	start := time.Now()
	backoff := 50 * time.Millisecond
	var lastLog time.Time
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lay.lock, err)
		}
		if ok {
			f.Truncate(0)
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
			return &workLock{f: f}, nil
		}
		pid := lockHolder(f)
		waited := time.Since(start)
		if waited >= wait {
			f.Close()
			return nil, &WarehouseBusyError{Path: lay.work, Holder: "rawland", PID: pid, Waited: waited}
		}
		if log != nil && time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			log.Warn("another rawland process is transforming; waiting", KeyPath, lay.work, KeyPID, pid,
				KeyWaited, waited.Round(time.Second).String(), "lock_wait", wait.String())
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(min(backoff, wait-waited)):
		}
		backoff = min(backoff*2, time.Second)
	}
}

// lockHolder reads the PID the holder wrote into the lock file (0 if unknown).
func lockHolder(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid
}

func (l *workLock) release() {
	if l != nil && l.f != nil {
		unlock(l.f)
		l.f.Close()
		l.f = nil
	}
}
