package ingest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"time"
)

// walkGuard keeps a broken upstream from keeping a walk going forever: it
// refuses a request already made in the walk (same method, URL, body and page headers), a page whose records repeat
// those of any earlier page of the walk (a cursor that changes while the
// same records come back), and a walk past the stream's max_pages or
// max_duration. Memory is two 16-byte hashes per page.
type walkGuard struct {
	stream   string
	maxPages int64
	maxDur   time.Duration
	now      func() time.Time
	start    time.Time
	urls     map[[16]byte]int64 // request-key hash → page that made it
	pages    map[[16]byte]int64 // record-bytes hash → page that held them
	// seeds key the record-bytes hash: two 64-bit maphashes with seeds
	// drawn for this walk, several times faster than SHA-256 on every
	// record byte, and an upstream cannot aim a collision at seeds it
	// does not know.
	seeds [2]maphash.Seed
}

func newWalkGuard(stream string, maxPages int64, maxDur time.Duration, now func() time.Time) *walkGuard {
	return &walkGuard{stream: stream, maxPages: maxPages, maxDur: maxDur, now: now, start: now(),
		urls: map[[16]byte]int64{}, pages: map[[16]byte]int64{}, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// request checks the request about to be made as page n: key identifies
// it (method, URL, body, page headers), u names it in messages.
func (g *walkGuard) request(n int64, key, u string) error {
	if g.maxPages > 0 && n > g.maxPages {
		return &TruncatedError{Stream: g.stream, Page: n, URL: u, Err: ErrWalkBound,
			Reason: fmt.Sprintf("the listing goes on past max_pages (%d); raise streams.%s.max_pages if it really is that long, otherwise check its pagination settings", g.maxPages, g.stream)}
	}
	if el := g.now().Sub(g.start); g.maxDur > 0 && el > g.maxDur {
		return &TruncatedError{Stream: g.stream, Page: n, URL: u, Err: ErrWalkBound,
			Reason: fmt.Sprintf("the walk has run %s, past max_duration (%s), after %d pages; raise streams.%s.max_duration if it really takes that long", el.Round(time.Second), g.maxDur, n-1, g.stream)}
	}
	h := hash16([]byte(key))
	if prev, ok := g.urls[h]; ok {
		return &TruncatedError{Stream: g.stream, Page: n, URL: u, Err: ErrPaginationLoop,
			Reason: fmt.Sprintf("the upstream sent the walk back to the request of page %d (pagination loop); check the stream's pagination settings", prev)}
	}
	g.urls[h] = n
	return nil
}

// requested reports whether the walk already made the request key.
func (g *walkGuard) requested(key string) bool {
	_, ok := g.urls[hash16([]byte(key))]
	return ok
}

// records checks that page n's records (if any) do not repeat those of an
// earlier page of the walk.
func (g *walkGuard) records(n int64, u string, recs []json.RawMessage) error {
	if len(recs) == 0 {
		return nil
	}
	var d [2]maphash.Hash
	var l [8]byte
	var h [16]byte
	for i := range d {
		d[i].SetSeed(g.seeds[i])
		for _, r := range recs {
			binary.LittleEndian.PutUint64(l[:], uint64(len(r)))
			d[i].Write(l[:])
			d[i].Write(r)
		}
		binary.LittleEndian.PutUint64(h[8*i:], d[i].Sum64())
	}
	if prev, ok := g.pages[h]; ok {
		return &TruncatedError{Stream: g.stream, Page: n, URL: u, Err: ErrPaginationLoop,
			Reason: fmt.Sprintf("its %d records repeat page %d exactly (pagination loop: the upstream ignores the pagination parameter or hands out new tokens for old pages)", len(recs), prev)}
	}
	g.pages[h] = n
	return nil
}

func hash16(b []byte) [16]byte {
	s := sha256.Sum256(b)
	var h [16]byte
	copy(h[:], s[:16])
	return h
}
