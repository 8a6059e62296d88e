package mockapi

import (
	"io"
	"testing"
)

// BenchmarkExportFileRead measures how fast the mock renders export files,
// to show it is not what limits a download benchmark.
func BenchmarkExportFileRead(b *testing.B) {
	f := newExportFile("jsonl", 1, 65536, 912, DefaultEpoch, false)
	b.SetBytes(f.Size())
	for range b.N {
		io.CopyBuffer(io.Discard, io.NewSectionReader(f, 0, f.Size()), make([]byte, 32<<10))
	}
}
