package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/internal/crashpoint"
	"github.com/rawland/rawland/state"
)

// jobExpiredError: the upstream no longer has the job (an expired status,
// or 404/410 on its poll).
type jobExpiredError struct {
	JobID  string
	Reason string
	status string // the expired status value ("" for a 404 or 410)
}

// goneAfter is how many polls in a row must find no job (404, 410) before
// the job counts as gone upstream.
const goneAfter = 3

func (e *jobExpiredError) Error() string {
	return fmt.Sprintf("export job %s is gone upstream: %s", e.JobID, e.Reason)
}

// JobFailedError says the upstream reports the export job failed.
type JobFailedError struct {
	// JobID is the upstream's job ID.
	JobID string
	// Status is the status value the poll answer carried.
	Status string
	// Message is the upstream's error message, if any (poll.error).
	Message string
}

// Error names the job, its status and the upstream's message.
func (e *JobFailedError) Error() string {
	msg := fmt.Sprintf("export job %s failed upstream (status %q)", e.JobID, e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg + "; the next run creates a new job"
}

// create sends the create request with the job's idempotency key and
// returns the job ID from the answer. It is retried like any request (the
// key makes a retry return the same job).
func (x *exporter) create(ctx context.Context, key string) (string, error) {
	c := x.e.Create
	path := x.fill(c.Path)
	u, err := endpoint(x.src.BaseURL, path)
	if err != nil {
		return "", err
	}
	if len(c.Params) > 0 {
		q := u.Query()
		for k, v := range c.Params {
			if v == config.CursorPlaceholder && x.from == "" {
				continue
			}
			q.Set(k, x.fill(v))
		}
		u.RawQuery = q.Encode()
	}
	if cur := x.sess.s.Cursor; cur != nil && cur.Param != "" && x.from != "" {
		q := u.Query()
		q.Set(cur.Param, x.from)
		u.RawQuery = q.Encode()
	}
	req := fetch.Request{Method: c.Method, URL: u.String(), Stream: x.sess.s.Name, RunID: x.runID}
	body, _ := x.fillValue(c.Body).(map[string]any)
	if c.Idempotency.In == config.InBody {
		body = setPath(body, config.SplitPath(c.Idempotency.Name), key)
	} else {
		req.Header = http.Header{c.Idempotency.Name: {key}}
	}
	if body != nil {
		if req.Body, err = json.Marshal(body); err != nil {
			return "", fmt.Errorf("encode the create body: %w", err)
		}
	} else if c.Method != http.MethodGet {
		req.Body = []byte("{}")
	}
	resp, err := x.d.Do(ctx, req)
	if err != nil {
		return "", err
	}
	id, err := stringAt(newDoc(resp.Body), c.ID)
	if err != nil || id == "" {
		return "", fmt.Errorf("%s (tracking id %q): no job ID at %q in the create answer (%s): set export.create.id", resp.URL, resp.TrackingID, c.ID, keysAlong(newDoc(resp.Body), c.ID))
	}
	return id, nil
}

// fill replaces the cursor placeholder in s.
func (x *exporter) fill(s string) string {
	return strings.ReplaceAll(s, config.CursorPlaceholder, x.from)
}

// fillValue is a copy of a body template with the cursor placeholder
// replaced; a value that is exactly the placeholder is left out when there
// is no cursor.
func (x *exporter) fillValue(v any) any {
	switch t := v.(type) {
	case string:
		return x.fill(t)
	case map[string]any:
		if t == nil {
			return t
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			if e == config.CursorPlaceholder && x.from == "" {
				continue
			}
			out[k] = x.fillValue(e)
		}
		return out
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			out = append(out, x.fillValue(e))
		}
		return out
	}
	return v
}

// pollURL is the job's status URL.
func (x *exporter) pollURL(id string) (string, error) {
	u, err := endpoint(x.src.BaseURL, strings.ReplaceAll(x.e.Poll.Path, "{id}", url.PathEscape(id)))
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// pollAnswer is one poll's outcome.
type pollAnswer struct {
	status     string
	done       bool
	body       []byte
	retryAfter time.Duration
}

// pollOnce reads the job's status.
func (x *exporter) pollOnce(ctx context.Context, id string) (pollAnswer, error) {
	p := x.e.Poll
	u, err := x.pollURL(id)
	if err != nil {
		return pollAnswer{}, err
	}
	resp, err := x.d.Do(ctx, fetch.Request{Method: http.MethodGet, URL: u, Stream: x.sess.s.Name, RunID: x.runID})
	var he *fetch.HTTPError
	if errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusGone) {
		return pollAnswer{}, &jobExpiredError{JobID: id, Reason: fmt.Sprintf("its poll answered %d", he.Status)}
	}
	if err != nil {
		return pollAnswer{}, err
	}
	doc := newDoc(resp.Body)
	st, err := stringAt(doc, p.Status)
	if err != nil {
		return pollAnswer{}, fmt.Errorf("%s: job status at %q: %w", resp.URL, p.Status, err)
	}
	a := pollAnswer{status: st, body: resp.Body, retryAfter: retryAfter(resp.Header.Get("Retry-After"), x.sess.o.Now())}
	switch {
	case slices.Contains(p.Done, st):
		a.done = true
	case slices.Contains(p.Failed, st):
		msg := ""
		if p.Error != "" {
			msg, _ = stringAt(doc, p.Error)
		}
		return a, &JobFailedError{JobID: id, Status: st, Message: msg}
	case slices.Contains(p.Expired, st):
		return a, &jobExpiredError{JobID: id, Reason: fmt.Sprintf("status %q", st), status: st}
	case st == "":
		return a, fmt.Errorf("%s (tracking id %q): no job status at %q (%s): set export.poll.status", resp.URL, resp.TrackingID, p.Status, keysAlong(doc, p.Status))
	}
	return a, nil
}

// waitDone polls the job until it is done (its answer kept in j's
// exporter for the download), failed or expired, or the poll timeout
// passes. The waits grow by half from poll.interval up to
// poll.max_interval; a Retry-After replaces the next one.
func (x *exporter) waitDone(ctx context.Context, j *state.Job) error {
	p := x.e.Poll
	now := x.sess.o.Now
	deadline := now().Add(p.Timeout.D())
	wait := p.Interval.D()
	gone := 0 // consecutive polls that found no job
	for n := 1; ; n++ {
		a, err := x.pollOnce(ctx, j.ID)
		crashpoint.Hit("export_after_poll")
		var exp *jobExpiredError
		if errors.As(err, &exp) && exp.status == "" {
			// a 404 may be an API that lists a new job a moment late:
			// the job is gone only when the answer repeats
			if gone++; gone < goneAfter {
				x.log.Warn("the export job's poll found no job; polling again", KeyJobID, j.ID, "reason", exp.Reason)
				err = nil
			}
		} else {
			gone = 0
		}
		var failed *JobFailedError
		if errors.As(err, &failed) {
			// the job is dead: drop it so that the next run starts a new one
			if cerr := x.jobs.ClearJob(context.WithoutCancel(ctx), j.Stream, j.Kind, j.Key); cerr != nil {
				x.log.Warn("clear the failed export job", "err", cerr)
			}
			return err
		}
		if err != nil {
			return err
		}
		if a.done && gone == 0 {
			x.done = a.body
			x.log.Info("export job done", KeyJobID, j.ID, "polls", n)
			return nil
		}
		next := wait
		if a.retryAfter > 0 {
			next = a.retryAfter
		}
		if now().Add(next).After(deadline) {
			return fmt.Errorf("export job %s still %q after the poll timeout of %s (export.poll.timeout); it stays recorded and the next run resumes it",
				j.ID, a.status, config.FormatDuration(p.Timeout.D()))
		}
		x.log.Debug("export job running", KeyJobID, j.ID, "status", a.status, "next_poll_ms", next.Milliseconds())
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(next):
		}
		wait = min(wait+wait/2, p.MaxInterval.D())
	}
}

// retryAfter reads a Retry-After header: seconds or an HTTP date (0 when
// absent or unreadable).
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// exportFile is one file of a done job.
type exportFile struct {
	url      string
	checksum string // hex SHA-256, "" when the API gives none
}

// files reads the file URLs (and checksums) from a done poll answer.
func (x *exporter) files(body []byte) ([]exportFile, error) {
	dl := x.e.Download
	doc := newDoc(body)
	v, ok, err := doc.lookup(dl.URLs)
	if err != nil {
		return nil, err
	}
	if !ok || isNull(v) {
		return nil, fmt.Errorf("the done job's answer has no file URLs at %q (%s): set export.download.urls", dl.URLs, keysAlong(doc, dl.URLs))
	}
	var one string
	if json.Unmarshal(v, &one) == nil {
		f := exportFile{url: one}
		if dl.Checksum != "" {
			f.checksum, _ = stringAt(doc, dl.Checksum)
		}
		return []exportFile{f}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, fmt.Errorf("export.download.urls %q is neither a URL nor a list: %.60s", dl.URLs, v)
	}
	out := make([]exportFile, 0, len(list))
	for i, el := range list {
		var f exportFile
		if json.Unmarshal(el, &f.url) != nil {
			ed := newDoc(el)
			if f.url, err = stringAt(ed, dl.URL); err != nil || f.url == "" {
				return nil, fmt.Errorf("file %d of the done job: no URL at %q (%s): set export.download.url", i+1, dl.URL, keysAlong(ed, dl.URL))
			}
			if dl.Checksum != "" {
				f.checksum, _ = stringAt(ed, dl.Checksum)
			}
		}
		out = append(out, f)
	}
	return out, nil
}
