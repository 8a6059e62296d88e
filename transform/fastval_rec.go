package transform

import (
	"cmp"
	"slices"
)

// What the fast validator records of a record's structure for the
// bytes → Arrow converter (bytesConv.row): every object and array, with
// its members' key and value spans (an array's items: value spans), so
// that the converter reads no key again and skips no value to find the
// next. A walk of an object or array always walks all of it (a value is
// skipped by validating it against the schema that allows anything), and
// its members are a function of the bytes alone, whichever schema the walk
// checked them against. So the first walk of each is recorded, and walks
// of bytes already walked (applicators, dependencies, pattern properties,
// contains, which walk a value again) are not: objects and arrays are
// recorded in the order of their first byte.

// memberSpan is one member of an object: its key's text (without the
// quotes, escapes not decoded) and its value's bytes; or one item of an
// array: its bytes.
type memberSpan struct {
	key0, key1 int32
	val0, val1 int32
	plainKey   bool // the key has no escapes
}

// objSpan is one recorded object or array: where it starts in the record
// and its members or items, members[first:first+n].
type objSpan struct {
	start, first, n int32
}

// recording is the record's structure as the validator walked it.
type recording struct {
	objs    []objSpan    // by start
	members []memberSpan // each object's members (array's items) together
	mstack  []memberSpan // the members of the objects and arrays being walked
}

func (r *recording) reset() {
	r.objs, r.members, r.mstack = r.objs[:0], r.members[:0], r.mstack[:0]
}

// begin says whether the walk of the object or array at start is
// recorded: when nothing at or after start was recorded yet. Its members
// then go to mstack, and end files them.
func (r *recording) begin(start int) bool {
	if len(r.objs) > 0 && int32(start) <= r.objs[len(r.objs)-1].start {
		return false
	}
	r.objs = append(r.objs, objSpan{start: int32(start)})
	return true
}

// end files the members of the object or array recorded in objs[slot],
// which are mstack[mark:].
func (r *recording) end(slot, mark int) {
	r.objs[slot].first, r.objs[slot].n = int32(len(r.members)), int32(len(r.mstack)-mark)
	r.members = append(r.members, r.mstack[mark:]...)
	r.mstack = r.mstack[:mark]
}

// membersAt is the members of the object (items of the array) recorded
// at start, if it was.
func (r *recording) membersAt(start int) ([]memberSpan, bool) {
	i, ok := slices.BinarySearchFunc(r.objs, int32(start), func(o objSpan, s int32) int { return cmp.Compare(o.start, s) })
	if !ok {
		return nil, false
	}
	o := r.objs[i]
	return r.members[o.first : o.first+o.n], true
}
