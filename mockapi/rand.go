package mockapi

// Deterministic pseudo-randomness. Every generated value is a pure function
// of the seed and a few integers (stream, record ID, version, purpose), so the
// same seed always yields the same bytes without storing them.

const golden = 0x9e3779b97f4a7c15

// mix64 is the splitmix64 finalizer: a fast, well-distributed bijection.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hash folds the values into one well-mixed 64-bit word.
func hash(vals ...uint64) uint64 {
	h := uint64(golden)
	for _, v := range vals {
		h = mix64(h ^ (v + golden))
	}
	return h
}

// salt turns a name into a hash input (FNV-1a).
func salt(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// rng is a splitmix64 stream.
type rng struct{ s uint64 }

func newRng(vals ...uint64) *rng { return &rng{s: hash(vals...)} }

func (r *rng) next() uint64 {
	r.s += golden
	return mix64(r.s)
}

// intn returns a value in [0, n); n <= 0 yields 0.
func (r *rng) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return int(r.next() % uint64(n))
}

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return unit(r.next()) < p }

// pick returns one element of list.
func pick[T any](r *rng, list []T) T { return list[r.intn(len(list))] }
