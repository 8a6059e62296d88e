package mockapi

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// A table holds the state of one stream's records: per record only its
// timestamps, version and liveness (a few int32 slices); the JSON is rendered
// on demand from (seed, stream, id, version).

// timeBase is the zero of the int32 second counters that hold record times.
const timeBase int64 = 946684800 // 2000-01-01T00:00:00Z

// historySpan is the length of the generated initial history, in seconds.
const historySpan = 4 * 365 * 86400

// toSec converts a time to the int32 counter, clamped to its range.
func toSec(t time.Time) int32 {
	v := t.Unix() - timeBase
	return int32(max(min(v, 1<<31-1), -1<<31))
}

// fromSec converts a counter back to a UTC time.
func fromSec(s int32) time.Time { return time.Unix(int64(s)+timeBase, 0).UTC() }

// ref is what rendering needs to know about one record.
type ref struct{ id, ver, upd, created int32 }

type table struct {
	def   *streamDef
	size  int
	seed  uint64
	epoch int32

	once      sync.Once
	mu        sync.RWMutex
	upd       []int32 // by id-1: updated_at
	created   []int32 // by id-1: created_at
	ver       []int32 // by id-1: version, from 1
	deleted   []bool  // by id-1
	order     []int32 // live IDs sorted by (updated_at, id)
	graveyard []int32 // deleted IDs, in deletion order
	maxUpd    int32
	ops       uint64 // mutations so far: seeds each mutation's choices
}

func newTable(def *streamDef, size int, seed uint64, epoch time.Time) *table {
	if def.static != nil {
		size = len(def.static)
	}
	return &table{def: def, size: size, seed: seed, epoch: toSec(epoch)}
}

// load generates the initial history on first use.
func (t *table) load() *table {
	t.once.Do(t.generate)
	return t
}

func (t *table) generate() {
	n := t.size
	t.upd, t.created, t.ver = make([]int32, n), make([]int32, n), make([]int32, n)
	t.deleted, t.order = make([]bool, n), make([]int32, n)
	r := newRng(t.seed, t.def.salt, salt("timeline"))
	first := int64(t.epoch) - historySpan
	bucket := max(historySpan/int64(n), 1) // record i is updated inside bucket i
	var cur int64
	for i := range n {
		switch {
		case t.def.static != nil:
			cur = int64(t.epoch) - 30*86400
			t.created[i] = int32(cur - 3*365*86400)
		case i > 0 && r.intn(10) == 0: // one record in ten shares the previous timestamp
			t.created[i] = int32(cur - int64(r.intn(90*86400)))
		default:
			cur = first + int64(i)*bucket + int64(r.intn(int(bucket)))
			t.created[i] = int32(cur - int64(r.intn(90*86400)))
		}
		t.upd[i], t.ver[i], t.order[i] = int32(cur), 1, int32(i+1)
	}
	t.maxUpd = int32(cur)
}

func (t *table) refOf(id int32) ref {
	return ref{id: id, ver: t.ver[id-1], upd: t.upd[id-1], created: t.created[id-1]}
}

// lookup returns the live record id. The caller holds t.mu.
func (t *table) lookup(id int64) (ref, bool) {
	if id < 1 || id > int64(len(t.upd)) || t.deleted[id-1] {
		return ref{}, false
	}
	return t.refOf(int32(id)), true
}

// lowerBound is the first position in order whose updated_at >= sec.
func (t *table) lowerBound(sec int32) int {
	return sort.Search(len(t.order), func(i int) bool { return t.upd[t.order[i]-1] >= sec })
}

// after is the first position in order whose (updated_at, id) > (sec, id).
func (t *table) after(sec, id int32) int {
	return sort.Search(len(t.order), func(i int) bool {
		o := t.order[i]
		u := t.upd[o-1]
		return u > sec || u == sec && o > id
	})
}

// refs returns up to n records from position from on.
func (t *table) refs(from, n int) []ref {
	from = max(0, min(from, len(t.order)))
	end := min(len(t.order), from+max(n, 0))
	out := make([]ref, 0, end-from)
	for _, id := range t.order[from:end] {
		out = append(out, t.refOf(id))
	}
	return out
}

func (t *table) cmp(a, b int32) int {
	if d := t.upd[a-1] - t.upd[b-1]; d != 0 {
		if d < 0 {
			return -1
		}
		return 1
	}
	return int(a - b)
}

// reposition takes the moved IDs out of order and puts the live ones back at
// their sorted place: O(len(order) + k log k).
func (t *table) reposition(moved []int32) {
	mark := make([]bool, len(t.upd)+1)
	ins := make([]int32, 0, len(moved))
	for _, id := range moved {
		if !mark[id] && !t.deleted[id-1] {
			ins = append(ins, id)
		}
		mark[id] = true
	}
	slices.SortFunc(ins, t.cmp)
	out := make([]int32, 0, len(t.order)+len(ins))
	j := 0
	for _, id := range t.order {
		if mark[id] {
			continue
		}
		for j < len(ins) && t.cmp(ins[j], id) < 0 {
			out = append(out, ins[j])
			j++
		}
		out = append(out, id)
	}
	t.order = append(out, ins[j:]...)
}

// pickLive chooses k distinct live IDs (all of them when k >= live).
func (t *table) pickLive(r *rng, k int) []int32 {
	return pickFrom(r, t.order, k)
}

// pickFrom chooses k distinct elements of list, deterministically from r.
func pickFrom(r *rng, list []int32, k int) []int32 {
	n := len(list)
	if k <= 0 || n == 0 {
		return nil
	}
	if k >= n {
		return slices.Clone(list)
	}
	if k*4 > n { // dense: partial Fisher-Yates on a copy
		c := slices.Clone(list)
		for i := range k {
			j := i + r.intn(n-i)
			c[i], c[j] = c[j], c[i]
		}
		return c[:k]
	}
	seen := make(map[int32]bool, k)
	out := make([]int32, 0, k)
	for try := 0; len(out) < k && try < 64*k; try++ {
		if id := list[r.intn(n)]; !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (t *table) opRng(op string) *rng {
	t.ops++
	return newRng(t.seed, t.def.salt, salt(op), t.ops)
}

// Appended is how many new records Advance(n) appends to each stream.
func Appended(n int) int {
	if n <= 0 {
		return 0
	}
	return (n + 1) / 2
}

// advance updates k live records (version+1, updated_at after every other
// record, at least clock) and appends Appended(k) new ones.
func (t *table) advance(k int, clock int32) (changed, added []int32) {
	r := t.opRng("advance")
	changed = t.pickLive(r, k)
	cur := max(t.maxUpd, clock)
	for _, id := range changed {
		cur += int32(1 + r.intn(3))
		t.upd[id-1] = cur
		t.ver[id-1]++
	}
	for range Appended(k) {
		cur += int32(r.intn(3))
		id := int32(len(t.upd) + 1)
		t.upd, t.created = append(t.upd, cur), append(t.created, cur)
		t.ver, t.deleted = append(t.ver, 1), append(t.deleted, false)
		added = append(added, id)
	}
	t.maxUpd = cur
	t.reposition(append(slices.Clone(changed), added...))
	return changed, added
}

// backdate updates k live records (version+1) while setting updated_at back
// to created_at: incremental readers filtering on updated_at miss them.
func (t *table) backdate(k int) []int32 {
	ids := t.pickLive(t.opRng("backdate"), k)
	for _, id := range ids {
		t.upd[id-1] = t.created[id-1]
		t.ver[id-1]++
	}
	t.reposition(ids)
	return ids
}

// remove hard-deletes k live records.
func (t *table) remove(k int) []int32 {
	ids := t.pickLive(t.opRng("delete"), k)
	for _, id := range ids {
		t.deleted[id-1] = true
	}
	t.graveyard = append(t.graveyard, ids...)
	t.reposition(ids)
	return ids
}

// resurrect brings k deleted records back unchanged (same version and
// updated_at, so only a full listing notices them).
func (t *table) resurrect(k int) []int32 {
	ids := pickFrom(t.opRng("resurrect"), t.graveyard, k)
	back := make(map[int32]bool, len(ids))
	for _, id := range ids {
		t.deleted[id-1] = false
		back[id] = true
	}
	t.graveyard = slices.DeleteFunc(t.graveyard, func(id int32) bool { return back[id] })
	t.reposition(ids)
	return ids
}
