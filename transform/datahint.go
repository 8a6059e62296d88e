package transform

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// dataHint remembers how many bytes of text per record each string column
// (nested ones too) took in the last batch, so that the next batch
// reserves its string data at once: growing each column's buffer by
// doubling (allocate, copy, zero, free) was 5% of process on the mock's
// users stream. Workers share it.
type dataHint struct {
	mu  sync.Mutex
	per []float64 // by string builder, in stringBuilders' order
}

// stringBuilders appends the string builders under b, depth first.
func stringBuilders(dst []*array.StringBuilder, b array.Builder) []*array.StringBuilder {
	switch x := b.(type) {
	case *array.StringBuilder:
		dst = append(dst, x)
	case *array.StructBuilder:
		for i := 0; i < x.NumField(); i++ {
			dst = stringBuilders(dst, x.FieldBuilder(i))
		}
	case *array.ListBuilder:
		dst = stringBuilders(dst, x.ValueBuilder())
	}
	return dst
}

// reserve reserves, in each builder, the text n records took last time
// plus an eighth.
func (h *dataHint) reserve(sbs []*array.StringBuilder, n int) {
	h.mu.Lock()
	per := h.per
	h.mu.Unlock()
	if len(per) != len(sbs) {
		return
	}
	for i, sb := range sbs {
		if per[i] > 0 {
			sb.ReserveData(int(per[i]*float64(n)) * 9 / 8)
		}
	}
}

// learn records what n records took in each builder.
func (h *dataHint) learn(sbs []*array.StringBuilder, n int) {
	if n == 0 {
		return
	}
	per := make([]float64, len(sbs))
	for i, sb := range sbs {
		per[i] = float64(sb.DataLen()) / float64(n)
	}
	h.mu.Lock()
	h.per = per
	h.mu.Unlock()
}
