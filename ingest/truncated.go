package ingest

import (
	"errors"
	"fmt"
)

// A walk is complete only when it observed the end of the listing (a null
// or empty next token or URL, has_more false, the total reached, a page
// shorter than the page size, no rel="next" link). A walk that stopped for
// any other reason returns a *TruncatedError: the runner commits what landed
// as a partial run (Complete false, cursor not moved, reconcile marks
// nothing deleted) and the command exits 1.

// Sentinels a *TruncatedError matches (errors.Is).
var (
	// ErrTruncated: the walk stopped before the end of the listing was
	// observed. Every *TruncatedError matches it.
	ErrTruncated = errors.New("listing truncated")
	// ErrPaginationLoop: the upstream sent the walk back to a URL it had
	// already requested, or a page repeated the records of an earlier page.
	ErrPaginationLoop = errors.New("pagination loop")
	// ErrWalkBound: the walk passed the stream's max_pages or max_duration.
	ErrWalkBound = errors.New("walk bound reached")
	// ErrAmbiguousEnd: a page lacked the configured next (or has_more,
	// total) path, which on a first sight cannot be told from a typo.
	ErrAmbiguousEnd = errors.New("end of listing not observed")
	// ErrMoreWithoutNext: the page said there is more (has_more true, or a
	// total not reached) but gave no way to reach it.
	ErrMoreWithoutNext = errors.New("more records announced but no next page")
)

// TruncatedError says where and why a walk stopped before its end.
type TruncatedError struct {
	Stream string
	Page   int64  // the page that was last read (or would have been read next)
	URL    string // that page's URL
	Reason string // what happened and what to do
	// Err is the kind: ErrPaginationLoop, ErrWalkBound, ErrAmbiguousEnd,
	// ErrMoreWithoutNext, or the records-path error.
	Err error
}

// Error names the page, its URL and the reason; the runner's message around
// it names the stream and run.
func (e *TruncatedError) Error() string {
	return fmt.Sprintf("page %d (%s): %s", e.Page, e.URL, e.Reason)
}

// Unwrap returns the kind of truncation.
func (e *TruncatedError) Unwrap() error { return e.Err }

// Is makes every TruncatedError match ErrTruncated.
func (e *TruncatedError) Is(target error) bool { return target == ErrTruncated }
