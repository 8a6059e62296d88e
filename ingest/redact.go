package ingest

import "github.com/rawland/rawland/ingest/fetch"

// redactor is implemented by Doers that know their source's credentials
// (*fetch.Client): Redact replaces every form of them in s.
type redactor interface {
	Redact(s string) string
}

var _ redactor = (*fetch.Client)(nil)

// redactedError is err with the source's credentials removed from its
// message; errors.Is and errors.As still see err.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr hides the source's credentials in err's message. Errors built
// from what the upstream sent (a pagination link that echoes the API key,
// a malformed next URL) may carry them; this runs before such an error is
// logged, recorded in the run or printed.
func redactErr(d Doer, err error) error {
	r, ok := d.(redactor)
	if err == nil || !ok {
		return err
	}
	msg := err.Error()
	if red := r.Redact(msg); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}
