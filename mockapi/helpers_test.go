package mockapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// start serves a new mock upstream on a loopback httptest server.
func start(t testing.TB, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// get performs one GET; a transport error fails the test.
func get(t testing.TB, c *http.Client, u string, hdr ...string) response {
	t.Helper()
	resp, err := do(c, http.MethodGet, u, nil, hdr...)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp
}

func do(c *http.Client, method, u string, body []byte, hdr ...string) (response, error) {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// head is the part of a record the tests reason about.
type head struct {
	ID        int64     `json:"id"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Status    string    `json:"status"`
}

func parseHead(t testing.TB, raw []byte) head {
	t.Helper()
	var h head
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("record %s: %v", raw, err)
	}
	return h
}

func truth(s *Server, stream string) [][]byte {
	return slices.Collect(s.Truth(stream))
}

// walked is what a client walking all pages of a listing got.
type walked struct {
	records [][]byte
	pages   int
}

const maxPages = 100000

var nextLinkRE = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

// walk reads every page of stream the way its pagination type says, with
// the query q (since, page sizes) on the first request.
func walk(t testing.TB, c *http.Client, base, stream string, q url.Values) walked {
	t.Helper()
	var w walked
	u := base + "/" + stream + "?" + q.Encode()
	n := 0
	for page := 1; u != "" && w.pages < maxPages; page++ {
		r := get(t, c, u)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: status %d: %s", u, r.status, r.body)
		}
		w.pages++
		var recs []json.RawMessage
		var body struct {
			Data       []json.RawMessage `json:"data"`
			Total      *int              `json:"total"`
			Results    []json.RawMessage `json:"results"`
			NextCursor *string           `json:"next_cursor"`
			HasMore    bool              `json:"has_more"`
			Items      []json.RawMessage `json:"items"`
			Records    []json.RawMessage `json:"records"`
			Next       *string           `json:"next"`
		}
		if stream == StreamUsers || stream == StreamCountries {
			if err := json.Unmarshal(r.body, &recs); err != nil {
				t.Fatalf("GET %s: %v", u, err)
			}
		} else if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		next := ""
		switch stream {
		case StreamUsers:
			if m := nextLinkRE.FindStringSubmatch(r.header.Get("Link")); m != nil {
				next = m[1]
			}
		case StreamOrders:
			recs = body.Data
			limit := 50
			if v := q.Get("limit"); v != "" {
				limit, _ = strconv.Atoi(v)
			}
			if len(recs) == limit {
				nq := cloneQuery(q)
				n += len(recs)
				nq.Set("offset", strconv.Itoa(n))
				next = base + "/orders?" + nq.Encode()
			}
		case StreamEvents:
			recs = body.Results
			if body.HasMore {
				nq := cloneQuery(q)
				nq.Set("cursor", *body.NextCursor)
				next = base + "/events?" + nq.Encode()
			}
		case StreamProducts, StreamCertificates:
			recs = body.Items
			if stream == StreamCertificates {
				recs = body.Data
			}
			if len(recs) > 0 {
				nq := cloneQuery(q)
				nq.Set("page", strconv.Itoa(page+1))
				next = base + "/" + stream + "?" + nq.Encode()
			}
		case StreamTickets:
			recs = body.Records
			if body.Next != nil {
				next = *body.Next
			}
		}
		for _, rec := range recs {
			w.records = append(w.records, rec)
		}
		u = next
	}
	return w
}

// nextOf is the next page URL of an events (cursor) or tickets (next_url)
// body, "" at the end.
func nextOf(t testing.TB, stream, base string, body []byte) string {
	t.Helper()
	var b struct {
		NextCursor *string `json:"next_cursor"`
		HasMore    bool    `json:"has_more"`
		Next       *string `json:"next"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("%s body: %v", stream, err)
	}
	switch {
	case stream == StreamEvents && b.HasMore:
		return base + "/events?page_size=10&cursor=" + url.QueryEscape(*b.NextCursor)
	case stream == StreamTickets && b.Next != nil:
		return *b.Next
	}
	return ""
}
