package chaos

import (
	"net/http"
	"net/url"
	"sync/atomic"
)

// listingBreaker sits in front of the mock: while on, every full listing
// (a request without since) fails with 500 from its second page on, the
// way a listing breaks halfway in production. A reconcile that meets it
// must not take its partial snapshot for the whole upstream.
type listingBreaker struct {
	next http.Handler
	on   atomic.Bool
	hits atomic.Int64
}

func (b *listingBreaker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.on.Load() && r.Method == http.MethodGet && laterListingPage(r.URL.Query()) {
		b.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"message":"listing broken (chaos)"}`))
		return
	}
	b.next.ServeHTTP(w, r)
}

// laterListingPage reports whether a query asks for a page after the first
// one of a full listing (no since) of any of the mock's pagination types.
func laterListingPage(q url.Values) bool {
	if q.Has("since") {
		return false
	}
	if p := q.Get("page"); p != "" && p != "1" {
		return true
	}
	if o := q.Get("offset"); o != "" && o != "0" {
		return true
	}
	return q.Get("cursor") != "" || q.Get("after") != ""
}
