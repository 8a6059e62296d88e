package mockapi

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestServeStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A slow request is in flight when the context ends: shutdown must not
	// wait for its injected latency.
	s := New(Options{Seed: 1, Size: 5, Faults: Faults{Latency: time.Hour, Paths: []string{"/users"}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	if r := get(t, http.DefaultClient, base+"/countries"); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	slow := make(chan int, 1)
	go func() {
		r, _ := do(http.DefaultClient, http.MethodGet, base+"/users", nil)
		slow <- r.status // 0 for a transport error
	}()
	for i := 0; s.Stats().InFlight == 0 && i < 500; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if st := <-slow; st == http.StatusOK {
		t.Error("a request cut short by shutdown got 200")
	}
	if _, err := do(http.DefaultClient, http.MethodGet, base+"/countries", nil); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestListenAndServeBadAddr(t *testing.T) {
	if err := ListenAndServe(context.Background(), "127.0.0.1:-1", Options{}); err == nil {
		t.Error("want an error for a bad address")
	}
}

func TestStreamsAndSchemas(t *testing.T) {
	s := New(Options{})
	want := []string{StreamUsers, StreamOrders, StreamEvents, StreamProducts, StreamTickets, StreamCountries}
	got := s.Streams()
	if len(got) != len(want) {
		t.Fatalf("Streams() = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Streams() = %v, want %v", got, want)
		}
	}
	if sc := s.Schemas(); len(sc) != len(want)+1 || sc[StreamCertificates] == nil {
		t.Errorf("Schemas() has %d documents", len(sc))
	}
	if s.Count(StreamUsers) != DefaultSize || s.Count("nope") != 0 {
		t.Errorf("counts %d %d", s.Count(StreamUsers), s.Count("nope"))
	}
}
