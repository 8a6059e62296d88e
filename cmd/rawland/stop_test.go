package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sourcegraph/conc/panics"
)

// syncBuf is a bytes buffer safe for the stopper's timer goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStopper: the first signal cancels the context with the signal as
// the cause; a second one exits at once; a stop that outlasts the grace
// period exits by itself; a panic cancels and exits 70 when stuck.
func TestStopper(t *testing.T) {
	cases := []struct {
		name     string
		act      func(*stopper)
		wantCode int
		wantMsg  string
	}{
		{"second signal", func(s *stopper) { s.signal(syscall.SIGTERM); s.signal(syscall.SIGTERM) }, 143, "second signal"},
		{"grace exceeded after SIGINT", func(s *stopper) { s.signal(syscall.SIGINT) }, 130, "still stopping"},
		{"grace exceeded after a panic", func(s *stopper) { s.panicked("boom") }, exitSoftware, "still stopping"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			var out syncBuf
			exited := make(chan int, 2)
			s := newStopper(cancel, &out, 20*time.Millisecond, func(c int) { exited <- c })
			tc.act(s)
			if ctx.Err() == nil {
				t.Fatal("the context was not cancelled")
			}
			select {
			case code := <-exited:
				if code != tc.wantCode {
					t.Errorf("exit %d, want %d", code, tc.wantCode)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("never exited")
			}
			if !strings.Contains(out.String(), tc.wantMsg) || !strings.Contains(out.String(), "crash-safe") {
				t.Errorf("output %q lacks %q and the crash-safety note", out.String(), tc.wantMsg)
			}
		})
	}
	t.Run("cause names the signal", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		s := newStopper(cancel, &syncBuf{}, time.Hour, func(int) {})
		s.signal(syscall.SIGTERM)
		if c := context.Cause(ctx); c == nil || !strings.Contains(c.Error(), "SIGTERM") {
			t.Fatalf("cause %v", c)
		}
		if !errors.Is(ctx.Err(), context.Canceled) || s.interrupted() != syscall.SIGTERM {
			t.Fatalf("err %v, interrupted %v", ctx.Err(), s.interrupted())
		}
	})
}

// TestPanicValueUnwrapsConc: a panic re-raised through nested conc pools
// is reported by its original value.
func TestPanicValueUnwrapsConc(t *testing.T) {
	inner := panics.NewRecovered(0, "index out of range")
	outer := panics.NewRecovered(0, &inner)
	if v := panicValue(&outer); v != "index out of range" {
		t.Fatalf("got %v", v)
	}
}
