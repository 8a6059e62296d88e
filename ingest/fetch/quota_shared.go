package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// QuotaBackend keeps each source's quota state (the budget's next slot,
// the upstream's remaining requests, a pause, the breaker) where every
// worker on every host reaches it: a database row (state/pgstore) rather
// than the flock'ed file of QuotaDir, which only processes on one machine
// share.
type QuotaBackend interface {
	// UpdateQuota calls fn with the source's stored state (empty before
	// the first update) and stores what fn returns, atomically with
	// respect to every other UpdateQuota of the same source from any
	// process on any host. fn may be called again if the update is
	// retried; it must only compute. An error from fn aborts the update.
	UpdateQuota(ctx context.Context, source string, fn func(old []byte) ([]byte, error)) error
	// QuotaLocation names where a source's state lives, for messages
	// ("delete … to retry now").
	QuotaLocation(source string) string
}

// quotaUpdateTimeout bounds one shared quota update (a hung database
// connection must not hang every request).
const quotaUpdateTimeout = 30 * time.Second

// backendStore is the stateStore kept in a QuotaBackend, in the same JSON
// form as the quota file.
type backendStore struct {
	b      QuotaBackend
	source string
	// corrupt is called when the stored state could not be used and was
	// replaced by a fresh one.
	corrupt func(error)
}

var _ stateStore = (*backendStore)(nil)

func (s *backendStore) file() string { return s.b.QuotaLocation(s.source) }

func (s *backendStore) update(fn func(st *quotaState)) error {
	ctx, cancel := context.WithTimeout(context.Background(), quotaUpdateTimeout)
	defer cancel()
	err := s.b.UpdateQuota(ctx, s.source, func(old []byte) ([]byte, error) {
		st := s.decode(old)
		fn(&st)
		out, err := json.Marshal(&st)
		if err != nil {
			return nil, fmt.Errorf("encode quota state: %w", err)
		}
		return out, nil
	})
	if err != nil {
		return fmt.Errorf("shared quota of source %s: %w", s.source, err)
	}
	return nil
}

func (s *backendStore) decode(raw []byte) quotaState {
	fresh := quotaState{Version: stateVersion, Source: s.source}
	if len(raw) == 0 {
		return fresh
	}
	var st quotaState
	if err := json.Unmarshal(raw, &st); err != nil {
		s.corrupt(fmt.Errorf("parse %s: %w", s.file(), err))
		return fresh
	}
	if st.Version != stateVersion {
		s.corrupt(fmt.Errorf("%s has format version %d, want %d", s.file(), st.Version, stateVersion))
		return fresh
	}
	if st.Source == "" {
		st.Source = s.source
	}
	return st
}
