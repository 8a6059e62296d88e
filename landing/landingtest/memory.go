package landingtest

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/rawland/rawland/landing"
)

// largeRun is what testBoundedMemory lands: far more than the bound.
const (
	largeRun    = 96 << 20
	memoryBound = 40 << 20
)

func testBoundedMemory(t *testing.T, e *env) {
	if testing.Short() {
		t.Skip("skipped with -short: lands and reads 96 MiB")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg conc.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	r := e.begin("host-a", time.Minute)
	w, err := landing.NewWriterContext(e.ctx, e.zone, stream, r.ID, landing.Manifest{}, landing.Options{RollBytes: 48 << 20})
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 1000)
	n := 0
	for written := 0; written < largeRun; n++ {
		rec := fmt.Appendf(nil, `{"id":%d,"pad":"%s"}`, n, pad)
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		written += len(rec) + 1
	}
	w.Page(landing.Page{N: 1, Records: n})
	m, err := w.Finish("", true)
	if err != nil {
		t.Fatal(err)
	}
	e.commit(r, m)
	if err := e.zone.Publish(stream, r.ID); err != nil {
		t.Fatal(err)
	}
	got := 0
	if _, err := e.zone.Records(e.ctx, stream, r.ID, func(landing.Record) error { got++; return nil }); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	grew := int64(peak.Load()) - int64(base)
	t.Logf("landed and read %d MiB in %d parts: heap in use grew by at most %.1f MiB", m.Bytes>>20, len(m.Files), float64(grew)/(1<<20))
	if got != n {
		t.Fatalf("read %d records, landed %d", got, n)
	}
	if grew > memoryBound {
		t.Fatalf("heap grew by %d MiB while landing and reading %d MiB: memory is not bounded by the part size (limit %d MiB)", grew>>20, m.Bytes>>20, memoryBound>>20)
	}
}
