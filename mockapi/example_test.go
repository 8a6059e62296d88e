package mockapi_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/rawland/rawland/mockapi"
)

// A test starts the mock upstream on a loopback httptest server, points a
// pipeline at it with the generated config, changes the upstream, and
// compares what landed with Truth.
func Example() {
	srv := mockapi.New(mockapi.Options{Seed: 42, Size: 3})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	resp, err := ts.Client().Get(ts.URL + "/users?per_page=2")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Count(string(body), `"login"`), "users on page 1")
	fmt.Println("has next page:", strings.Contains(resp.Header.Get("Link"), `rel="next"`))

	srv.Advance(1) // one user changes, Appended(1) new one appears
	n := 0
	for range srv.Truth(mockapi.StreamUsers) {
		n++
	}
	fmt.Println(n, "users upstream now")
	fmt.Println(strings.Contains(srv.Config(ts.URL), "type: link"))
	// Output:
	// 200 2 users on page 1
	// has next page: true
	// 4 users upstream now
	// true
}
