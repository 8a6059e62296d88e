package landing

import (
	"bytes"
	"errors"
	"testing"
)

// failAfter is a destination that takes n bytes, then fails.
type failAfter struct {
	bytes.Buffer
	n int
}

var errDiskFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.Len()+len(p) > f.n {
		return 0, errDiskFull
	}
	return f.Buffer.Write(p)
}

// TestChunkWriter checks that every byte reaches the destination once and
// in order, whatever the write sizes against the buffer size, and that a
// background write's error comes back from a later Write or from Flush.
func TestChunkWriter(t *testing.T) {
	cases := []struct {
		name    string
		size    int   // buffer size
		writes  []int // lengths of the writes (bytes of a counting pattern)
		failAt  int   // destination fails past this many bytes (0: never)
		wantErr bool
	}{
		{"empty", 8, nil, 0, false},
		{"smaller than a buffer", 8, []int{3, 1, 2}, 0, false},
		{"exactly one buffer", 8, []int{8}, 0, false},
		{"many buffers", 8, []int{5, 5, 5, 5, 5, 1, 0, 7, 30}, 0, false},
		{"single bytes", 4, []int{1, 1, 1, 1, 1, 1, 1, 1, 1}, 0, false},
		{"one huge write", 16, []int{1000}, 0, false},
		{"destination fails", 8, []int{8, 8, 8, 8, 8}, 12, true},
		{"destination fails on the last bytes", 8, []int{8, 3}, 8, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := &failAfter{n: tc.failAt}
			if tc.failAt == 0 {
				dst.n = 1 << 30
			}
			c := newChunkWriter(dst, tc.size)
			var want []byte
			var err error
			for i, n := range tc.writes {
				p := make([]byte, n)
				for j := range p {
					p[j] = byte(len(want) + j)
				}
				want = append(want, p...)
				if n == 1 && i%2 == 0 {
					err = c.WriteByte(p[0])
				} else {
					_, err = c.Write(p)
				}
				if err != nil {
					break
				}
			}
			if ferr := c.Flush(); err == nil {
				err = ferr
			}
			if tc.wantErr {
				if !errors.Is(err, errDiskFull) {
					t.Fatalf("err = %v, want %v", err, errDiskFull)
				}
				if _, werr := c.Write([]byte("x")); werr == nil {
					t.Error("Write after a failed write succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dst.Bytes(), want) {
				t.Errorf("destination got %d bytes, want %d (or in another order)", dst.Len(), len(want))
			}
			if _, err := c.Write([]byte("x")); err == nil {
				t.Error("Write after Flush succeeded")
			}
		})
	}
}
