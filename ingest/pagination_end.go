package ingest

import (
	"fmt"
	"strings"

	"github.com/rawland/rawland/config"
)

// endJudge decides after each page whether the walk goes on, ended (its end
// was observed) or was cut short. In order:
//
//   - has_more false (end_flag true) ends the walk; the total reached ends
//     it; the page total_pages announced ends it;
//   - has_more true (end_flag false), or a page before the announced last
//     one, needs a next page: without one the walk is truncated;
//   - a next page is followed, unless the page is shorter than the page
//     size (or, for offset and page, empty): that ends the walk;
//   - a clear end from the paginator (null or "" next, no rel="next" link,
//     no pagination, an empty page for next_from_last_record) ends the walk;
//   - an absent next path ends the walk only if the page is short or empty,
//     or one of the configured paths absent from the page (next, has_more
//     or end_flag, total, total_pages) was present on an earlier page of
//     this stream, in this walk or an earlier run (known); otherwise the
//     end was not observed.
//
// A walk that ends with fewer records than the last total a page announced,
// or on an earlier page than the last total_pages, is truncated. So is an
// end status (end_statuses) after a page that said there was more.
type endJudge struct {
	stream     string
	scope      string // the listing path; recorded paths are "<scope> <path>"
	flag       string // configured has_more or end_flag path ("" = none)
	flagIsEnd  bool   // flag is end_flag: true on the last page
	total      string // configured total path ("" = none)
	totalPages string // configured total_pages path ("" = none)
	pageSize   int    // records in a full page (0 = not known)
	computed   bool   // offset/page: the next request is derived, not read
	// known are the scoped paths recorded by earlier runs; seen the paths
	// present on a page of this walk.
	known map[string]bool
	seen  map[string]bool

	records   int64 // records read so far in this walk
	lastTotal int64 // the last total a page announced
	haveTotal bool
	lastPages int64 // the last total_pages a page announced
	havePages bool
	saidMore  bool // the last page said there was more (has_more true, end_flag false)
}

func newEndJudge(stream, scope string, p config.Pagination, pageSize int, known map[string]bool) *endJudge {
	if known == nil {
		known = map[string]bool{}
	}
	flag, isEnd := p.HasMore, false
	if p.EndFlag != "" {
		flag, isEnd = p.EndFlag, true
	}
	return &endJudge{stream: stream, scope: scope, flag: flag, flagIsEnd: isEnd, total: p.Total, totalPages: p.TotalPages,
		pageSize: pageSize, computed: computed(p), known: known, seen: map[string]bool{}}
}

// judge returns the next request and true, false when the walk ended, or
// a *TruncatedError. n and u are the page's number and URL.
func (j *endJudge) judge(n int64, u string, p page, nx nextPage) (pageReq, bool, error) {
	trunc := func(kind error, format string, args ...any) (pageReq, bool, error) {
		return pageReq{}, false, &TruncatedError{Stream: j.stream, Page: n, URL: u, Err: kind, Reason: fmt.Sprintf(format, args...)}
	}
	ended := func() (pageReq, bool, error) { return pageReq{}, false, j.end(n, u) }
	j.records += int64(p.Records)
	if nx.path != "" && nx.kind != nextAbsent {
		j.seen[nx.path] = true
	}
	more, moreSet, err := j.readMore(p.Doc)
	if err != nil {
		return pageReq{}, false, err
	}
	total, totalSet, err := j.readCount(p.Doc, j.total, "total", "a record count")
	if err != nil {
		return pageReq{}, false, err
	}
	if totalSet {
		j.lastTotal, j.haveTotal = total, true
	}
	pages, pagesSet, err := j.readCount(p.Doc, j.totalPages, "total_pages", "a page count")
	if err != nil {
		return pageReq{}, false, err
	}
	if pagesSet {
		j.lastPages, j.havePages = pages, true
	}
	j.saidMore = moreSet && more
	short := j.pageSize > 0 && p.Records < j.pageSize
	emptyComputed := j.computed && p.Records == 0
	switch {
	case moreSet && !more:
		return ended()
	case totalSet && j.records >= total:
		return pageReq{}, false, nil
	case pagesSet && n >= pages:
		return ended()
	case moreSet && more, pagesSet:
		if nx.kind == nextFollow && !emptyComputed {
			return nx.req, true, nil
		}
		what := j.flag + " is true"
		if j.flagIsEnd {
			what = j.flag + " is false"
		}
		if !(moreSet && more) {
			what = fmt.Sprintf("%s is %d and this is page %d", j.totalPages, pages, n)
		}
		return trunc(ErrMoreWithoutNext, "%s but %s; the listing goes on and this page gives no way to reach the rest", what, j.describeNext(p, nx))
	}
	switch nx.kind {
	case nextFollow:
		if short || emptyComputed {
			return ended()
		}
		return nx.req, true, nil
	case nextEnd:
		return ended()
	}
	// the next path is absent
	if short || p.Records == 0 {
		return ended()
	}
	absent := []string{nx.path}
	for _, path := range []string{j.flag, j.total, j.totalPages} {
		if path != "" {
			if _, ok, _ := p.Doc.lookup(path); !ok {
				absent = append(absent, path)
			}
		}
	}
	for _, path := range absent {
		if j.seen[path] || j.known[j.key(path)] {
			return ended()
		}
	}
	return trunc(ErrAmbiguousEnd, "the page has no %s (%s), so the end of the listing was not observed: an API that omits it on the last page and a typo or an unescaped dot in the path look the same. "+
		"Settle it: declare pagination.page_size (records in a full page: a shorter page then ends the walk), has_more, end_flag or total; or fix the path (a backslash escapes a dot inside a key: @odata\\.nextLink). "+
		"Once a page of this stream has shown %s, a page without it ends the walk",
		quoteAll(absent), j.where(p, nx), quoteAll(absent[:1]))
}

// end ends the walk unless a page announced a total or a page count it did
// not reach.
func (j *endJudge) end(n int64, u string) error {
	if j.haveTotal && j.records < j.lastTotal {
		return &TruncatedError{Stream: j.stream, Page: n, URL: u, Err: ErrMoreWithoutNext,
			Reason: fmt.Sprintf("the listing ended after %d records but %s said %d: it was cut short", j.records, j.total, j.lastTotal)}
	}
	if j.havePages && n < j.lastPages {
		return &TruncatedError{Stream: j.stream, Page: n, URL: u, Err: ErrMoreWithoutNext,
			Reason: fmt.Sprintf("the listing ended on page %d but %s said %d: it was cut short", n, j.totalPages, j.lastPages)}
	}
	return nil
}

// endStatus judges page n answering one of end_statuses: past a page
// that said there was more, the walk was cut short; otherwise the listing
// ended on the page before (if no total says otherwise).
func (j *endJudge) endStatus(n int64, u string, status int) error {
	if j.saidMore {
		return &TruncatedError{Stream: j.stream, Page: n, URL: u, Err: ErrMoreWithoutNext,
			Reason: fmt.Sprintf("the upstream answered %d (an end status) after page %d said there was more (%s)", status, n-1, j.flag)}
	}
	return j.end(n-1, u)
}

// readMore reads has_more (or end_flag, inverted): more is whether there
// are more pages; set is false when it is not configured, absent or null.
func (j *endJudge) readMore(doc *jsonDoc) (more, set bool, err error) {
	if j.flag == "" {
		return false, false, nil
	}
	v, ok, err := doc.lookup(j.flag)
	if err != nil || !ok {
		return false, false, err
	}
	j.seen[j.flag] = true
	if isNull(v) {
		return false, false, nil
	}
	b, err := parseFlag(v)
	if err != nil {
		key := "has_more"
		if j.flagIsEnd {
			key = "end_flag"
		}
		return false, false, fmt.Errorf("%s path %s: %w", key, j.flag, err)
	}
	return b != j.flagIsEnd, true, nil
}

// readCount reads a count (a number or a numeric string) at path; set is
// false when it is not configured, absent or null.
func (j *endJudge) readCount(doc *jsonDoc, path, key, what string) (int64, bool, error) {
	if path == "" {
		return 0, false, nil
	}
	v, ok, err := doc.lookup(path)
	if err != nil || !ok {
		return 0, false, err
	}
	j.seen[path] = true
	if isNull(v) {
		return 0, false, nil
	}
	c, err := parseCount(v)
	if err != nil {
		return 0, false, fmt.Errorf("%s path %s is not %s: %.60s", key, path, what, v)
	}
	return c, true, nil
}

func (j *endJudge) describeNext(p page, nx nextPage) string {
	switch {
	case nx.kind == nextAbsent:
		return fmt.Sprintf(`the page has no "%s" (%s)`, nx.path, j.where(p, nx))
	case nx.path != "":
		return fmt.Sprintf("%s is null or empty", nx.path)
	case j.computed:
		return "the page is empty (the next offset or page number would read nothing new)"
	case nx.kind == nextEnd && p.Records == 0:
		return "the page is empty"
	default:
		return `there is no rel="next" Link header (or the stream has no pagination)`
	}
}

// where says what the page has where the absent next path was looked for.
func (j *endJudge) where(p page, nx nextPage) string {
	if nx.where != "" {
		return nx.where
	}
	return keysAlong(p.Doc, nx.path)
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
