package ingest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/state"
)

// TestAbsentNextPathIsAnEndOnlyOnceSeen: a first run whose only page lacks
// the next path cannot tell a last page from a typo: exit-1 material, with
// a message naming the path and the keys present. Once a page of the
// stream has shown the path (in a walk, then remembered in the state store),
// a page without it ends the walk as complete.
func TestAbsentNextPathIsAnEndOnlyOnceSeen(t *testing.T) {
	var twoPages atomic.Bool
	srv := servePages(t, func(i int, _ string) (string, string) {
		switch {
		case i == 0 && twoPages.Load():
			return "", "{" + data(0, 3) + `,"paging":{"next":{"after":"1"}}}`
		case i == 0:
			return "", "{" + data(0, 3) + `,"total_hint":3}`
		case i == 1 && twoPages.Load():
			return "", "{" + data(1, 3) + "}"
		}
		return "", ""
	})
	e := newEnv(t, itemsConfig(`{type: cursor, next: paging.next.after, param: p}`), srv.URL)
	ingestItems := func() (ingest.Result, error) {
		return ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["items"])
	}

	res, err := ingestItems()
	var te *ingest.TruncatedError
	if !errors.Is(err, ingest.ErrAmbiguousEnd) || !errors.As(err, &te) {
		t.Fatalf("first run, one full page without the next path: got %v, want ErrAmbiguousEnd", err)
	}
	if te.Stream != "items" || te.Page != 1 || !strings.Contains(te.URL, "/items") {
		t.Errorf("error names stream %q, page %d, URL %q", te.Stream, te.Page, te.URL)
	}
	for _, want := range []string{`"paging.next.after"`, "top-level keys: data, total_hint", "page_size", "has_more", "total"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
	if res.Run.Status != state.StatusCommitted || res.Run.Complete || res.Run.Records != 3 {
		t.Fatalf("first run = %+v; want its 3 records committed, not complete", res.Run)
	}

	// a walk whose first page shows the path ends on a page without it
	twoPages.Store(true)
	if res, err = ingestItems(); err != nil || !res.Run.Complete || res.Run.Records != 6 {
		t.Fatalf("second run (the path seen on page 1): %+v, %v; want complete with 6 records", res.Run, err)
	}

	// and the state store remembers it for later runs
	twoPages.Store(false)
	if res, err = ingestItems(); err != nil || !res.Run.Complete || res.Run.Records != 3 {
		t.Fatalf("third run (one page, the path seen by an earlier run): %+v, %v; want complete", res.Run, err)
	}
	seen, err := e.store.SeenPaths(context.Background(), "items")
	if err != nil || !seen["/items paging.next.after"] || len(seen) != 1 {
		t.Fatalf("paths recorded = %v, %v", seen, err)
	}
}

// endless serves page after page: each with a new token and, with period
// > 0, records that repeat those of the page period pages earlier. It ends
// (a null token) only after 200 pages, so that a walk without bounds fails
// the test instead of hanging it.
func endless(t *testing.T, period int) *httptest.Server {
	return servePages(t, func(i int, _ string) (string, string) {
		if i >= 200 {
			return "", `{"data":[],"next":null}`
		}
		k := i
		if period > 0 {
			k = i % period
		}
		return "", "{" + data(k, 3) + `,"next":"` + strconv.Itoa(i+1) + `"}`
	})
}

func TestWalkBounds(t *testing.T) {
	cfg := func(extra string) string {
		return itemsConfig(`{type: cursor, next: next, param: p}`) + extra
	}
	t.Run("max_pages", func(t *testing.T) {
		srv := endless(t, 0)
		e := newEnv(t, cfg("    max_pages: 5\n"), srv.URL)
		res, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["items"])
		var te *ingest.TruncatedError
		if !errors.Is(err, ingest.ErrWalkBound) || !errors.As(err, &te) {
			t.Fatalf("got %v, want ErrWalkBound", err)
		}
		if te.Page != 6 || !strings.Contains(te.URL, "p=5") || !strings.Contains(err.Error(), "max_pages (5)") || !strings.Contains(err.Error(), "items") {
			t.Errorf("message does not name the stream, page, URL and bound: %v", err)
		}
		if res.Run.Status != state.StatusCommitted || res.Run.Complete || res.Run.Pages != 5 || res.Run.Records != 15 {
			t.Fatalf("run = %+v; want 5 pages committed, not complete", res.Run)
		}
	})
	t.Run("max_duration", func(t *testing.T) {
		srv := endless(t, 0)
		e := newEnv(t, cfg("    max_duration: 10m\n"), srv.URL)
		o := e.opts(state.KindIngest)
		// a clock that moves a minute each time it is read
		var mu sync.Mutex
		clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		o.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Minute)
			return clock
		}
		res, err := ingest.Stream(context.Background(), o, e.cfg.Streams["items"])
		if !errors.Is(err, ingest.ErrWalkBound) || !strings.Contains(err.Error(), "max_duration (10m0s)") {
			t.Fatalf("got %v, want ErrWalkBound naming max_duration", err)
		}
		if res.Run.Status != state.StatusCommitted || res.Run.Complete || res.Run.Pages < 1 || res.Run.Pages > 11 {
			t.Fatalf("run = %+v; want the pages read in 10 minutes committed, not complete", res.Run)
		}
	})
	t.Run("records repeat a page 3 pages earlier under a changing cursor", func(t *testing.T) {
		srv := endless(t, 3)
		e := newEnv(t, cfg(""), srv.URL)
		res, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["items"])
		var te *ingest.TruncatedError
		if !errors.Is(err, ingest.ErrPaginationLoop) || !errors.As(err, &te) || te.Page != 4 || !strings.Contains(err.Error(), "repeat page 1") {
			t.Fatalf("got %v, want ErrPaginationLoop at page 4 naming page 1", err)
		}
		if res.Run.Status != state.StatusCommitted || res.Run.Complete || res.Run.Records != 9 {
			t.Fatalf("run = %+v; want the 9 distinct records committed, not complete", res.Run)
		}
	})
}

// TestDeltaQueueAbsentIDsPathIsNotAnEmptyQueue: a list answer without the
// ids path (a typo, or an error body with status 200) fails the stream; it
// is never read as "the queue is empty".
func TestDeltaQueueAbsentIDsPathIsNotAnEmptyQueue(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/delta" {
			w.Write([]byte(`{"items":[1,2,3]}`))
			return
		}
		http.Error(w, "unexpected", http.StatusNotFound)
	}))
	defer srv.Close()
	e := newEnv(t, `
sources:
  api: {base_url: "{{URL}}"}
streams:
  certs:
    source: api
    kind: delta_queue
    delta_queue:
      list:  {path: /delta, ids: ids}
      fetch: {path: "/records/{id}"}
      clear: {method: POST, path: /delta/clear, ids: ids}
    primary_key: [id]
    schema: schemas/certs.json
`, srv.URL)
	_, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["certs"])
	if err == nil || !strings.Contains(err.Error(), `no "ids"`) || !strings.Contains(err.Error(), "items") {
		t.Fatalf("got %v, want an error naming the absent ids path and the keys present", err)
	}
}
