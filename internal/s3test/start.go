package s3test

import "testing"

// Start returns a server for the test: SeaweedFS when available (see
// weed.go), else an in-process gofakes3.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartFake(t)
}
