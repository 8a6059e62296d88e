package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/state"
)

// dialectReq is what a test upstream sees of one request.
type dialectReq struct {
	n      int // 0-based request number
	r      *http.Request
	body   map[string]any // the decoded JSON body (nil: none)
	rawBdy string
}

// dialectAnswer is a test upstream's answer; status 0 is 200.
type dialectAnswer struct {
	status int
	header map[string]string
	body   string
}

// serveDialect serves answer(request) and counts the requests; a request
// answer does not expect fails the test through answer's t.
func serveDialect(t *testing.T, answer func(t *testing.T, q dialectReq) dialectAnswer) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := dialectReq{n: int(n.Add(1) - 1), r: r}
		b, _ := io.ReadAll(r.Body)
		q.rawBdy = string(b)
		if len(b) > 0 {
			if err := json.Unmarshal(b, &q.body); err != nil {
				t.Errorf("request %d: body is not a JSON object: %q", q.n, b)
			}
		}
		a := answer(t, q)
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		if a.status != 0 {
			w.WriteHeader(a.status)
		}
		fmt.Fprint(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func dialectStream(keys string) string {
	return `
sources:
  api: {base_url: "{{URL}}"}
streams:
  items:
    source: api
    path: /items
    primary_key: [id]
` + keys + `    schema: schemas/items.json
`
}

// qint reads an integer query parameter (0 when absent).
func qint(q dialectReq, name string) int {
	n, _ := strconv.Atoi(q.r.URL.Query().Get(name))
	return n
}

// TestDialectEnds: the new stop rules and token sources end a walk as
// complete only on a clear end, and everything that contradicts itself or
// cannot be told from a mistake leaves the run incomplete.
func TestDialectEnds(t *testing.T) {
	full := func(i int) string { return "{" + data(i, 3) }
	cases := []struct {
		name        string
		keys        string
		answer      func(t *testing.T, q dialectReq) dialectAnswer
		wantRecords int64
		wantReqs    int64
		wantErr     error // nil = complete; errAny = any error, run not complete
	}{
		{"end status on the first page is an error", "    records: data\n    pagination: {type: offset, param: offset, limit_param: limit, limit: 3, end_statuses: [404]}\n",
			func(_ *testing.T, q dialectReq) dialectAnswer {
				return dialectAnswer{status: 404, body: `{"error":"gone"}`}
			}, 0, 1, errAny},
		{"end status after has_more true", "    records: data\n    pagination: {type: offset, param: offset, limit_param: limit, limit: 3, has_more: more, end_statuses: [404]}\n",
			func(_ *testing.T, q dialectReq) dialectAnswer {
				if q.n < 2 {
					return dialectAnswer{body: full(q.n) + `,"more":true}`}
				}
				return dialectAnswer{status: 404, body: `{}`}
			}, 6, 3, ingest.ErrMoreWithoutNext},
		{"end status before the total", "    records: data\n    pagination: {type: page, param: page, total: total, end_statuses: [400]}\n",
			func(_ *testing.T, q dialectReq) dialectAnswer {
				if q.n < 2 {
					return dialectAnswer{body: full(q.n) + `,"total":9}`}
				}
				return dialectAnswer{status: 400, body: `{}`}
			}, 6, 3, ingest.ErrMoreWithoutNext},
		{"end status ends a page walk", "    records: data\n    pagination: {type: page, param: page, end_statuses: [400, 404]}\n",
			func(_ *testing.T, q dialectReq) dialectAnswer {
				if qint(q, "page") <= 2 {
					return dialectAnswer{body: full(q.n) + `}`}
				}
				return dialectAnswer{status: 400, body: `{"error":"page out of range"}`}
			}, 6, 3, nil},
		{"total_pages not reached", "    records: data\n    pagination: {type: page, param: page, total_pages: pages}\n",
			func(_ *testing.T, q dialectReq) dialectAnswer {
				if qint(q, "page") == 1 {
					return dialectAnswer{body: full(0) + `,"pages":3}`}
				}
				return dialectAnswer{body: `{"data":[],"pages":3}`}
			}, 3, 2, ingest.ErrMoreWithoutNext},
		{"end_flag false without a token", "    records: data\n    pagination: {type: cursor, next: next, param: c, end_flag: done}\n",
			func(_ *testing.T, q dialectReq) dialectAnswer {
				if q.n == 0 {
					return dialectAnswer{body: full(0) + `,"next":"a","done":false}`}
				}
				return dialectAnswer{body: full(1) + `,"next":null,"done":false}`}
			}, 6, 2, ingest.ErrMoreWithoutNext},
		{"has_more as 1 and 0", "    records: data\n    pagination: {type: cursor, next: next, param: c, has_more: more}\n",
			func(_ *testing.T, q dialectReq) dialectAnswer {
				if q.n == 0 {
					return dialectAnswer{body: full(0) + `,"next":"a","more":1}`}
				}
				return dialectAnswer{body: full(1) + `,"next":"b","more":"0"}`}
			}, 6, 2, nil},
		{"has_more that is not a flag", "    records: data\n    pagination: {type: cursor, next: next, param: c, has_more: more}\n",
			func(_ *testing.T, q dialectReq) dialectAnswer {
				return dialectAnswer{body: full(0) + `,"next":"a","more":"maybe"}`}
			}, 3, 1, errAny},
		{"last record without the token field", "    records: data\n    pagination: {type: cursor, next_from_last_record: key, param: after}\n",
			func(_ *testing.T, q dialectReq) dialectAnswer { return dialectAnswer{body: full(0) + `}`} }, 3, 1, errAny},
		{"last record token until an empty page", "    records: data\n    pagination: {type: cursor, next_from_last_record: id, param: after}\n",
			func(t *testing.T, q dialectReq) dialectAnswer {
				want := []string{"", "3", "103"}[min(q.n, 2)]
				if got := q.r.URL.Query().Get("after"); got != want {
					t.Errorf("request %d: after=%q, want %q", q.n, got, want)
				}
				if q.n < 2 {
					return dialectAnswer{body: full(q.n) + `}`}
				}
				return dialectAnswer{body: `{"data":[]}`}
			}, 6, 3, nil},
		{"header cursor absent on a full first page", "    records: data\n    pagination: {type: cursor, next_header: X-Next, param: c}\n",
			func(_ *testing.T, q dialectReq) dialectAnswer { return dialectAnswer{body: full(0) + `}`} }, 3, 1, ingest.ErrAmbiguousEnd},
		{"header cursor empty ends, token sent in a header", "    records: data\n    pagination: {type: cursor, next_header: X-Next, param: X-Page, in: header}\n",
			func(t *testing.T, q dialectReq) dialectAnswer {
				if got, want := q.r.Header.Get("X-Page"), []string{"", "t1"}[min(q.n, 1)]; got != want {
					t.Errorf("request %d: X-Page %q, want %q", q.n, got, want)
				}
				if q.n == 0 {
					return dialectAnswer{header: map[string]string{"X-Next": "t1"}, body: full(0) + `}`}
				}
				return dialectAnswer{header: map[string]string{"X-Next": ""}, body: full(1) + `}`}
			}, 6, 2, nil},
		{"token repeating on a page with records is a loop", "    records: data\n    pagination: {type: cursor, next: next, param: c}\n",
			func(_ *testing.T, q dialectReq) dialectAnswer {
				return dialectAnswer{body: full(q.n) + `,"next":"same"}`}
			}, 6, 2, ingest.ErrPaginationLoop},
		{"whole body that is an array", "    records: \".\"\n",
			func(_ *testing.T, q dialectReq) dialectAnswer { return dialectAnswer{body: `[{"id":1}]`} }, 0, 1, errAny},
		{"whole body null", "    records: \".\"\n",
			func(_ *testing.T, q dialectReq) dialectAnswer { return dialectAnswer{body: `null`} }, 0, 1, nil},
		{"POST offset numbers in the body", "    body: {query: {match_all: {}}}\n    records: hits\n    pagination: {type: offset, param: from, limit_param: size, limit: 3}\n",
			func(t *testing.T, q dialectReq) dialectAnswer {
				want := fmt.Sprintf(`{"from":%d,"query":{"match_all":{}},"size":3}`, q.n*3)
				if q.r.Method != http.MethodPost || q.rawBdy != want || !strings.Contains(q.r.Header.Get("Content-Type"), "json") {
					t.Errorf("request %d: %s %q (%s), want POST %q", q.n, q.r.Method, q.rawBdy, q.r.Header.Get("Content-Type"), want)
				}
				return dialectAnswer{body: `{"hits":` + strings.TrimPrefix(data(q.n, 3-q.n), `"data":`) + `}`}
			}, 3 + 2, 2, nil}, // a short second page ends it
		{"incremental cursor in the body", "    method: POST\n    records: data\n    cursor: {field: seq, param: filter.after_seq, start: \"41\"}\n    pagination: {type: cursor, next: next, param: page.token}\n",
			func(t *testing.T, q dialectReq) dialectAnswer {
				want := []string{`{"filter":{"after_seq":41}}`, `{"filter":{"after_seq":41},"page":{"token":"p2"}}`}[min(q.n, 1)]
				if q.rawBdy != want {
					t.Errorf("request %d: body %q, want %q", q.n, q.rawBdy, want)
				}
				if q.n == 0 {
					return dialectAnswer{body: `{"data":[{"id":1,"seq":42}],"next":"p2"}`}
				}
				return dialectAnswer{body: `{"data":[{"id":2,"seq":43}],"next":null}`}
			}, 2, 2, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, n := serveDialect(t, tc.answer)
			e := newEnv(t, dialectStream(tc.keys), srv.URL)
			res, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["items"])
			if got := n.Load(); got != tc.wantReqs {
				t.Errorf("%d requests, want %d", got, tc.wantReqs)
			}
			switch {
			case tc.wantErr == nil:
				if err != nil || !res.Run.Complete || res.Run.Records != tc.wantRecords {
					t.Fatalf("run = complete %v, %d records, err %v; want complete with %d", res.Run.Complete, res.Run.Records, err, tc.wantRecords)
				}
				if res.Run.Pages != tc.wantReqs {
					t.Errorf("pages = %d, want %d (one per request answered)", res.Run.Pages, tc.wantReqs)
				}
			case errors.Is(tc.wantErr, errAny):
				if err == nil || res.Run.Complete || res.Run.Records != tc.wantRecords {
					t.Fatalf("run = complete %v, %d records, err %v; want an error and %d records, not complete", res.Run.Complete, res.Run.Records, err, tc.wantRecords)
				}
			default:
				if !errors.Is(err, tc.wantErr) || res.Run.Complete || res.Run.Records != tc.wantRecords {
					t.Fatalf("run = complete %v, %d records, err %v; want %v with %d records, not complete", res.Run.Complete, res.Run.Records, err, tc.wantErr, tc.wantRecords)
				}
			}
			t.Logf("err: %v", err)
		})
	}
}

// errAny: the test wants some error and an incomplete run.
var errAny = errors.New("any error")
