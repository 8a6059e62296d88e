package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/state"
)

// recs returns n small records as JSON texts, ids from 1.
func recs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"id":%d,"v":"r\u00e9%d","n":0.1}`, i+1, i+1)
	}
	return out
}

func arr(rs []string) string { return "[" + strings.Join(rs, ",") + "]" }

func TestPaginationTypes(t *testing.T) {
	all := recs(7)
	window := func(from, size int) []string {
		if from >= len(all) {
			return nil
		}
		return all[from:min(from+size, len(all))]
	}
	cases := []struct {
		name       string
		pagination string
		records    string
		handler    func(srvURL string, w http.ResponseWriter, r *http.Request)
		wantPages  int64
	}{
		{"none", `{type: none}`, "", func(_ string, w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, arr(all))
		}, 1},
		{"link", `{type: link}`, "", func(u string, w http.ResponseWriter, r *http.Request) {
			p, _ := strconv.Atoi(r.URL.Query().Get("p"))
			if (p+1)*3 < len(all) {
				w.Header().Set("Link", fmt.Sprintf(`<%s/items?p=%d>; rel="next", <%s/items?p=0>; rel="first"`, u, p+1, u))
			}
			fmt.Fprint(w, arr(window(p*3, 3)))
		}, 3},
		{"next_url relative", `{type: next_url, field: paging.next}`, "data", func(_ string, w http.ResponseWriter, r *http.Request) {
			p, _ := strconv.Atoi(r.URL.Query().Get("p"))
			next := "null"
			if (p+1)*3 < len(all) {
				next = fmt.Sprintf(`"/items?p=%d"`, p+1)
			}
			fmt.Fprintf(w, `{"data":%s,"paging":{"next":%s}}`, arr(window(p*3, 3)), next)
		}, 3},
		{"cursor with has_more", `{type: cursor, next: next_cursor, param: cursor, has_more: has_more}`, "results", func(_ string, w http.ResponseWriter, r *http.Request) {
			p, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Query().Get("cursor"), "c"))
			more := (p+1)*3 < len(all)
			// a token is sent even on the last page: has_more must end it
			fmt.Fprintf(w, `{"results":%s,"next_cursor":"c%d","has_more":%v}`, arr(window(p*3, 3)), p+1, more)
		}, 3},
		{"cursor without has_more", `{type: cursor, next: meta.next, param: after}`, "results", func(_ string, w http.ResponseWriter, r *http.Request) {
			p, _ := strconv.Atoi(r.URL.Query().Get("after"))
			next := `""`
			if (p+1)*3 < len(all) {
				next = fmt.Sprintf(`"%d"`, p+1)
			}
			fmt.Fprintf(w, `{"results":%s,"meta":{"next":%s}}`, arr(window(p*3, 3)), next)
		}, 3},
		{"offset", `{type: offset, param: offset, limit_param: limit, limit: 3}`, "items", func(_ string, w http.ResponseWriter, r *http.Request) {
			off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
			lim, _ := strconv.Atoi(r.URL.Query().Get("limit"))
			fmt.Fprintf(w, `{"items":%s}`, arr(window(off, lim)))
		}, 3},
		{"page until empty", `{type: page, param: page}`, "", func(_ string, w http.ResponseWriter, r *http.Request) {
			p, _ := strconv.Atoi(r.URL.Query().Get("page"))
			fmt.Fprint(w, arr(window((p-1)*3, 3)))
		}, 4},
		{"page with size from 0", `{type: page, param: pg, start: 0, size_param: per, size: 3}`, "", func(_ string, w http.ResponseWriter, r *http.Request) {
			p, _ := strconv.Atoi(r.URL.Query().Get("pg"))
			n, _ := strconv.Atoi(r.URL.Query().Get("per"))
			fmt.Fprint(w, arr(window(p*n, n)))
		}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				tc.handler(srv.URL, w, r)
			}))
			defer srv.Close()
			e := newEnv(t, `
sources:
  api: {base_url: "{{URL}}"}
streams:
  items:
    source: api
    path: /items
    records: "`+tc.records+`"
    primary_key: [id]
    pagination: `+tc.pagination+`
    schema: schemas/items.json
`, srv.URL)
			res := e.run("items")
			got := e.landed("items", res.Run.ID)
			if strings.Join(got, "\n") != strings.Join(all, "\n") {
				t.Fatalf("landed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(all, "\n"))
			}
			if res.Run.Pages != tc.wantPages {
				t.Errorf("pages = %d, want %d", res.Run.Pages, tc.wantPages)
			}
		})
	}
}

func TestPaginationLoopStops(t *testing.T) {
	cases := []struct {
		name       string
		pagination string
		handler    http.HandlerFunc
	}{
		{"link back to first page", `{type: link}`, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", `</items?p=1>; rel="next"`)
			if r.URL.Query().Get("p") == "1" {
				w.Header().Set("Link", `</items>; rel="next"`)
			}
			fmt.Fprint(w, arr(recs(2)))
		}},
		{"page param ignored", `{type: page, param: page}`, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, arr(recs(2)))
		}},
		{"cursor repeats", `{type: cursor, next: next, param: c}`, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"records":%s,"next":"same"}`, arr(recs(2)))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			records := ""
			if strings.Contains(tc.pagination, "cursor") {
				records = "records"
			}
			e := newEnv(t, `
sources:
  api: {base_url: "{{URL}}"}
streams:
  items:
    source: api
    path: /items
    records: "`+records+`"
    primary_key: [id]
    pagination: `+tc.pagination+`
    schema: schemas/items.json
`, srv.URL)
			res, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["items"])
			if !errors.Is(err, ingest.ErrPaginationLoop) {
				t.Fatalf("got %v, want ErrPaginationLoop", err)
			}
			// what landed before the loop was detected is kept, cursor untouched
			if res.Run.Status != state.StatusCommitted || res.Run.CursorAfter != res.Run.CursorBefore {
				t.Fatalf("run after loop = %+v", res.Run)
			}
		})
	}
}
