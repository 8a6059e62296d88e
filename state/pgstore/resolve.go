package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/rawland/rawland/state"
)

// settle learns the outcome of a write whose connection broke before its
// answer came (first is that error): it asks done on a new connection until
// it gets an answer, and if the write did not take effect it writes again
// (retry), until ResolveFor has passed. The writes it is used for are safe
// to repeat once done said no: a unique run ID, or a batch read back by its
// exact contents.
func (s *Store) settle(ctx context.Context, op string, first error, done func(context.Context) (bool, error), retry func() error) error {
	deadline := time.Now().Add(s.ResolveFor)
	last := first
	for wait := 50 * time.Millisecond; time.Now().Before(deadline); wait = min(wait*2, 2*time.Second) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w: %w (then %w)", op, state.ErrCommitUnknown, first, context.Cause(ctx))
		case <-time.After(wait):
		}
		ok, err := done(ctx)
		if err != nil {
			last = err
			continue
		}
		if ok {
			return nil // the first attempt took effect
		}
		err = retry()
		if err == nil {
			return nil
		}
		if definite(err) {
			return fmt.Errorf("%s: %w", op, err)
		}
		last = err
	}
	return fmt.Errorf("%s: the state store did not answer for %s: %w: %w (last: %w)", op, s.ResolveFor, state.ErrCommitUnknown, first, last)
}
