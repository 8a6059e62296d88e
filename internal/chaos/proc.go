package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/rawland/rawland/internal/crashpoint"
)

// KillPlan says how a process of a round ends.
type KillPlan struct {
	// After, when positive, sends SIGKILL this long after the start.
	After time.Duration
	// CrashPoint, when set, makes the process kill itself there
	// (RAWLAND_CRASHPOINT, see package crashpoint).
	CrashPoint string
}

// Proc is one rawland process of a round.
type Proc struct {
	Args []string
	Plan KillPlan

	Code     int  // exit code (-1 when killed by a signal)
	Killed   bool // ended by SIGKILL
	Hung     bool // outlived its deadline and was killed for it
	Duration time.Duration
	started  time.Time
	out      capped
}

// Output is what the process wrote to stdout and stderr (the first and the
// last few KiB when it wrote more).
func (p *Proc) Output() string { return p.out.String() }

// Label names the process for messages: its arguments and kill plan.
func (p *Proc) Label() string {
	s := "rawland " + strings.Join(p.Args, " ")
	switch {
	case p.Plan.CrashPoint != "":
		s += " (crash point " + p.Plan.CrashPoint + ")"
	case p.Plan.After > 0:
		s += fmt.Sprintf(" (SIGKILL after %s)", p.Plan.After.Round(time.Millisecond))
	}
	return s
}

// runner starts rawland processes in a project directory.
type runner struct {
	bin     string
	dir     string
	env     []string
	timeout time.Duration
}

// start starts p and returns a function that waits for its end (applying
// its kill plan and the deadline).
func (r runner) start(p *Proc) (wait func(), err error) {
	cmd := exec.Command(r.bin, p.Args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), r.env...)
	if p.Plan.CrashPoint != "" {
		cmd.Env = append(cmd.Env, crashpoint.EnvVar+"="+p.Plan.CrashPoint)
	}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	t0 := time.Now()
	p.started = t0
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Label(), err)
	}
	done := make(chan error, 1)
	var once sync.Once
	wait = func() {
		once.Do(func() {
			var kill <-chan time.Time
			if p.Plan.After > 0 {
				t := time.NewTimer(p.Plan.After)
				defer t.Stop()
				kill = t.C
			}
			deadline := time.NewTimer(r.timeout)
			defer deadline.Stop()
			var wg conc.WaitGroup
			defer wg.Wait()
			wg.Go(func() { done <- cmd.Wait() })
			var err error
		loop:
			for {
				select {
				case err = <-done:
					break loop
				case <-kill:
					_ = cmd.Process.Signal(syscall.SIGKILL)
					kill = nil
				case <-deadline.C:
					p.Hung = true
					_ = cmd.Process.Signal(syscall.SIGKILL)
				}
			}
			p.Duration = time.Since(t0)
			p.Code = cmd.ProcessState.ExitCode()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
					p.Killed = true
				}
			}
		})
	}
	return wait, nil
}

// run starts p and waits for it.
func (r runner) run(p *Proc) error {
	wait, err := r.start(p)
	if err != nil {
		return err
	}
	wait()
	return nil
}

// capped keeps the first and the last 16 KiB written to it.
type capped struct {
	mu         sync.Mutex
	head, tail bytes.Buffer
	dropped    int64
}

const capHalf = 16 << 10

func (c *capped) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(b)
	if room := capHalf - c.head.Len(); room > 0 {
		k := min(room, len(b))
		c.head.Write(b[:k])
		b = b[k:]
	}
	if len(b) > 0 {
		c.tail.Write(b)
		if over := c.tail.Len() - capHalf; over > 0 {
			c.dropped += int64(over)
			rest := append([]byte(nil), c.tail.Bytes()[over:]...)
			c.tail.Reset()
			c.tail.Write(rest)
		}
	}
	return n, nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped == 0 {
		return c.head.String() + c.tail.String()
	}
	return fmt.Sprintf("%s\n… %d bytes left out …\n%s", c.head.String(), c.dropped, c.tail.String())
}
