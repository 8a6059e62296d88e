package fetch

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Log attribute keys of the Client's log lines.
const (
	KeySource     = "source"
	KeyStream     = "stream"
	KeyRunID      = "run_id"
	KeyMethod     = "method"
	KeyPath       = "path" // path and query, secrets redacted
	KeyStatus     = "status"
	KeyAttempt    = "attempt"
	KeyLatencyMS  = "latency_ms"
	KeyBytes      = "bytes"
	KeyTrackingID = "tracking_id"
	KeyError      = "error"
	KeyRetryInMS  = "retry_in_ms"
	KeyUntil      = "until"
	KeyReason     = "reason"
)

// logAttempt writes the one line of a request attempt: Info when it
// succeeded, Warn when it will be retried after retryIn, Error when Do gives
// up (Info if the caller cancelled).
func (c *Client) logAttempt(ctx context.Context, p *prepared, n int, o outcome, retrying bool, retryIn time.Duration) {
	level, msg := slog.LevelInfo, "http request"
	switch {
	case o.err == nil:
	case retrying:
		level, msg = slog.LevelWarn, "http request failed, retrying"
	case errors.Is(o.err, context.Canceled):
		msg = "http request cancelled"
	default:
		level, msg = slog.LevelError, "http request failed"
	}
	if !c.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String(KeySource, c.source),
		slog.String(KeyStream, p.stream),
		slog.String(KeyRunID, p.runID),
		slog.String(KeyMethod, p.method),
		slog.String(KeyPath, p.logPath),
		slog.Int(KeyStatus, o.status),
		slog.Int(KeyAttempt, n),
		slog.Int64(KeyLatencyMS, o.latency.Milliseconds()),
		slog.Int(KeyBytes, o.bytes),
		slog.String(KeyTrackingID, o.trackingID),
	}
	if o.err != nil {
		attrs = append(attrs, slog.String(KeyError, Redact(o.err.Error(), c.secrets)))
	}
	if retrying {
		attrs = append(attrs, slog.Int64(KeyRetryInMS, retryIn.Milliseconds()))
	}
	c.log.LogAttrs(ctx, level, msg, attrs...)
}

// logPause reports that the whole source now waits until a time.
func (c *Client) logPause(ctx context.Context, p *prepared, until time.Time, reason string) {
	c.log.LogAttrs(ctx, slog.LevelWarn, "source paused: no request is sent before the upstream's quota resets",
		slog.String(KeySource, c.source),
		slog.String(KeyStream, p.stream),
		slog.String(KeyRunID, p.runID),
		slog.Time(KeyUntil, until),
		slog.String(KeyReason, reason),
	)
}

// logLockout reports that the breaker opened.
func (c *Client) logLockout(ctx context.Context, p *prepared, err *LockoutError) {
	c.log.LogAttrs(ctx, slog.LevelError, "source locked out: breaker open, requests fail fast",
		slog.String(KeySource, c.source),
		slog.String(KeyStream, p.stream),
		slog.String(KeyRunID, p.runID),
		slog.Time(KeyUntil, err.Until),
		slog.String(KeyReason, Redact(err.Reason, c.secrets)),
		slog.String(KeyTrackingID, err.TrackingID),
	)
}

// logStateError reports that the quota state could not be read or written.
func (c *Client) logStateError(ctx context.Context, err error) {
	c.log.LogAttrs(ctx, slog.LevelError, "quota state update failed",
		slog.String(KeySource, c.source),
		slog.String(KeyError, err.Error()),
	)
}
