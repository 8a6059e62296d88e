package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/rawland/rawland/ingest/fetch"
)

func ExampleClient_Do() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer example-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Trackingid", "trk-1")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `[{"id":1}]`)
	}))
	defer upstream.Close()

	c, err := fetch.New(fetch.Options{
		Source:         "github",
		Auth:           fetch.BearerAuth("example-token"),
		Concurrency:    5,
		RateLimit:      &fetch.RateLimit{Requests: 5000, Per: time.Hour},
		TrackingHeader: "Trackingid",
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Do(context.Background(), fetch.Request{URL: upstream.URL + "/issues", Stream: "issues", RunID: "r1"})
	var lockout *fetch.LockoutError
	switch {
	case errors.As(err, &lockout):
		fmt.Println("stop this source:", lockout.Reason)
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println(resp.Status, string(resp.Body), resp.TrackingID, resp.Attempts)
	}
	// Output: 200 [{"id":1}] trk-1 1
}
