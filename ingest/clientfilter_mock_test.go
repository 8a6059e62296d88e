package ingest_test

import (
	"fmt"
	"net/http/httptest"
	"sort"
	"testing"

	"github.com/rawland/rawland/mockapi"
)

// TestClientFilterAgainstMockFeed: the mock's /feed/orders ignores since and
// serves newest first; with filter: client and order: desc a run lands
// exactly the orders changed since the last one, with the fewest requests.
func TestClientFilterAgainstMockFeed(t *testing.T) {
	mock := mockapi.New(mockapi.Options{Seed: 7, Size: 300})
	srv := httptest.NewServer(mock)
	defer srv.Close()
	e := newEnv(t, `
sources:
  mock: {base_url: "{{URL}}"}
streams:
  orders:
    source: mock
    path: /feed/orders
    primary_key: [id]
    schema: schemas/orders.json
    pagination: {type: page, param: page, size_param: per_page, size: 20}
    cursor: {field: updated_at, filter: client, order: desc}
`, srv.URL)
	e.run("orders")
	for _, n := range []int{3, 12, 0} {
		t.Run(fmt.Sprintf("%d changed", n), func(t *testing.T) {
			var changed []int
			if n > 0 {
				touched, err := mock.Mutate(mockapi.StreamOrders, mockapi.OpAdvance, n)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range touched {
					changed = append(changed, int(id))
				}
			}
			sort.Ints(changed)
			before := mock.Stats().Requests
			res := e.run("orders")
			got := ids(t, e.landed("orders", res.Run.ID))
			sort.Ints(got)
			if fmt.Sprint(got) != fmt.Sprint(changed) && !(len(got) == 0 && len(changed) == 0) {
				t.Fatalf("landed %v, want the changed orders %v", got, changed)
			}
			// the pages up to the first that reaches back to the cursor
			if req, min := mock.Stats().Requests-before, int64(len(changed)/20+1); req != min {
				t.Fatalf("%d requests, want the minimum %d", req, min)
			}
		})
	}
}
