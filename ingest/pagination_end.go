package ingest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/rawland/rawland/config"
)

// endJudge decides after each page whether the walk goes on, ended (its end
// was observed) or was cut short. In order:
//
//   - has_more false ends the walk; the total reached ends it;
//   - has_more true needs a next page: without one the walk is truncated;
//   - a next page is followed, unless the page is shorter than the page
//     size (or, for offset and page, empty): that ends the walk;
//   - a clear end from the paginator (null or "" next, no rel="next" link,
//     no pagination) ends the walk;
//   - an absent next path ends the walk only if the page is short or empty,
//     or one of the configured paths absent from the page (next, has_more,
//     total) was present on an earlier page of this stream, in this walk or
//     an earlier run (known); otherwise the end was not observed.
//
// A walk that ends with fewer records than the last total a page announced
// is truncated.
type endJudge struct {
	stream   string
	scope    string // the listing path; recorded paths are "<scope> <path>"
	hasMore  string // configured has_more path ("" = none)
	total    string // configured total path ("" = none)
	pageSize int    // records in a full page (0 = not known)
	computed bool   // offset/page: the next request is derived, not read
	// known are the scoped paths recorded by earlier runs; seen the paths
	// present on a page of this walk.
	known map[string]bool
	seen  map[string]bool

	records   int64 // records read so far in this walk
	lastTotal int64 // the last total a page announced
	haveTotal bool
}

func newEndJudge(stream, scope string, p config.Pagination, pageSize int, known map[string]bool) *endJudge {
	if known == nil {
		known = map[string]bool{}
	}
	return &endJudge{stream: stream, scope: scope, hasMore: p.HasMore, total: p.Total, pageSize: pageSize,
		computed: computed(p), known: known, seen: map[string]bool{}}
}

// judge returns the next URL, "" when the walk ended, or a
// *TruncatedError. n and u are the page's number and URL.
func (j *endJudge) judge(n int64, u string, p page, nx nextPage) (string, error) {
	trunc := func(kind error, format string, args ...any) (string, error) {
		return "", &TruncatedError{Stream: j.stream, Page: n, URL: u, Err: kind, Reason: fmt.Sprintf(format, args...)}
	}
	j.records += int64(p.Records)
	if nx.path != "" && nx.kind != nextAbsent {
		j.seen[nx.path] = true
	}
	more, moreSet, err := j.readHasMore(p.Doc)
	if err != nil {
		return "", err
	}
	total, totalSet, err := j.readTotal(p.Doc)
	if err != nil {
		return "", err
	}
	short := j.pageSize > 0 && p.Records < j.pageSize
	switch {
	case moreSet && !more:
		return j.end(n, u)
	case totalSet && j.records >= total:
		return "", nil
	case moreSet && more:
		if nx.kind == nextFollow && !(j.computed && p.Records == 0) {
			return nx.url, nil
		}
		return trunc(ErrMoreWithoutNext, "%s is true but %s; the listing goes on and this page gives no way to reach the rest", j.hasMore, j.describeNext(p, nx))
	}
	switch nx.kind {
	case nextFollow:
		if short || (j.computed && p.Records == 0) {
			return j.end(n, u)
		}
		return nx.url, nil
	case nextEnd:
		return j.end(n, u)
	}
	// the next path is absent
	if short || p.Records == 0 {
		return j.end(n, u)
	}
	absent := []string{nx.path}
	for _, path := range []string{j.hasMore, j.total} {
		if path != "" {
			if _, ok, _ := p.Doc.lookup(path); !ok {
				absent = append(absent, path)
			}
		}
	}
	for _, path := range absent {
		if j.seen[path] || j.known[j.key(path)] {
			return j.end(n, u)
		}
	}
	return trunc(ErrAmbiguousEnd, "the page has no %s (%s), so the end of the listing was not observed: an API that omits it on the last page and a typo or an unescaped dot in the path look the same. "+
		"Settle it: declare pagination.page_size (records in a full page: a shorter page then ends the walk), has_more or total; or fix the path (a backslash escapes a dot inside a key: @odata\\.nextLink). "+
		"Once a page of this stream has shown %s, a page without it ends the walk",
		quoteAll(absent), keysAlong(p.Doc, nx.path), quoteAll(absent[:1]))
}

// end ends the walk unless a page announced a total it did not reach.
func (j *endJudge) end(n int64, u string) (string, error) {
	if j.haveTotal && j.records < j.lastTotal {
		return "", &TruncatedError{Stream: j.stream, Page: n, URL: u, Err: ErrMoreWithoutNext,
			Reason: fmt.Sprintf("the listing ended after %d records but %s said %d: it was cut short", j.records, j.total, j.lastTotal)}
	}
	return "", nil
}

// readHasMore reads the has_more boolean; set is false when it is not
// configured, absent or null.
func (j *endJudge) readHasMore(doc *jsonDoc) (val, set bool, err error) {
	if j.hasMore == "" {
		return false, false, nil
	}
	v, ok, err := doc.lookup(j.hasMore)
	if err != nil || !ok {
		return false, false, err
	}
	j.seen[j.hasMore] = true
	if isNull(v) {
		return false, false, nil
	}
	if err := json.Unmarshal(v, &val); err != nil {
		return false, false, fmt.Errorf("has_more path %s is not a boolean: %.60s", j.hasMore, v)
	}
	return val, true, nil
}

// readTotal reads the total record count (a number or a numeric string);
// set is false when it is not configured, absent or null.
func (j *endJudge) readTotal(doc *jsonDoc) (int64, bool, error) {
	if j.total == "" {
		return 0, false, nil
	}
	v, ok, err := doc.lookup(j.total)
	if err != nil || !ok {
		return 0, false, err
	}
	j.seen[j.total] = true
	if isNull(v) {
		return 0, false, nil
	}
	s := strings.Trim(strings.TrimSpace(string(v)), `"`)
	t, err := strconv.ParseInt(s, 10, 64)
	if err != nil || t < 0 {
		return 0, false, fmt.Errorf("total path %s is not a record count: %.60s", j.total, v)
	}
	j.lastTotal, j.haveTotal = t, true
	return t, true, nil
}

func (j *endJudge) describeNext(p page, nx nextPage) string {
	switch {
	case nx.kind == nextAbsent:
		return fmt.Sprintf(`the page has no "%s" (%s)`, nx.path, keysAlong(p.Doc, nx.path))
	case nx.path != "":
		return fmt.Sprintf("%s is null or empty", nx.path)
	case j.computed:
		return "the page is empty (the next offset or page number would read nothing new)"
	default:
		return `there is no rel="next" Link header (or the stream has no pagination)`
	}
}

func (j *endJudge) key(path string) string { return j.scope + " " + path }

// newlySeen returns the scoped paths present on a page of this walk that
// earlier runs had not recorded.
func (j *endJudge) newlySeen() []string {
	var out []string
	for p := range j.seen {
		if k := j.key(p); !j.known[k] {
			out = append(out, k)
		}
	}
	return out
}

func quoteAll(ps []string) string {
	q := make([]string, len(ps))
	for i, p := range ps {
		q[i] = `"` + p + `"`
	}
	return strings.Join(q, " or ")
}
