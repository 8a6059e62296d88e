package mockapi_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/mockapi"
)

// TestConfigLoads checks the generated rawland.yaml against the real
// config loader, with the schemas written where it points.
func TestConfigLoads(t *testing.T) {
	tests := []struct {
		name string
		opts mockapi.Options
		auth string
	}{
		{"plain", mockapi.Options{Seed: 1}, "none"},
		{"token and quota", mockapi.Options{Seed: 1, Token: "x", Faults: mockapi.Faults{Quota: 100, QuotaWindow: time.Minute, DeltaDeadline: 90 * time.Second}}, "bearer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mockapi.New(tc.opts)
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "schemas"), 0o755); err != nil {
				t.Fatal(err)
			}
			for name, doc := range s.Schemas() {
				if err := os.WriteFile(filepath.Join(dir, "schemas", name+".json"), doc, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, "rawland.yaml")
			if err := os.WriteFile(path, []byte(s.Config("http://127.0.0.1:8080/")), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatalf("generated config does not load: %v", err)
			}
			src := cfg.Sources[mockapi.SourceName]
			if src == nil || src.BaseURL != "http://127.0.0.1:8080" || src.Auth.Type != tc.auth || src.TrackingHeader != mockapi.TrackingHeader {
				t.Fatalf("source %+v", src)
			}
			if tc.auth == "bearer" && (src.Auth.TokenEnv != mockapi.TokenEnv || src.RateLimit == nil || src.RateLimit.Requests != 100) {
				t.Errorf("auth %+v rate limit %+v", src.Auth, src.RateLimit)
			}
			wantPaging := map[string]string{
				mockapi.StreamUsers: config.PageLink, mockapi.StreamOrders: config.PageOffset,
				mockapi.StreamEvents: config.PageCursor, mockapi.StreamProducts: config.PagePage,
				mockapi.StreamTickets: config.PageNextURL, mockapi.StreamCountries: config.PageNone,
			}
			for _, name := range s.Streams() {
				st := cfg.Streams[name]
				if st == nil || st.Pagination.Type != wantPaging[name] || st.Path != "/"+name {
					t.Errorf("stream %s: %+v", name, st)
					continue
				}
				if (st.Cursor == nil) != (name == mockapi.StreamCountries) {
					t.Errorf("stream %s: cursor %+v", name, st.Cursor)
				}
			}
			dq := cfg.Streams[mockapi.StreamCertificates]
			if dq == nil || dq.Kind != "delta_queue" || dq.DeltaQueue == nil || dq.Reconcile == nil || dq.Reconcile.Path != "/certificates" {
				t.Fatalf("certificates: %+v", dq)
			}
			if want := tc.opts.Faults.DeltaDeadline; want != 0 && dq.DeltaQueue.Deadline.D() != want {
				t.Errorf("deadline %s, want %s", dq.DeltaQueue.Deadline.D(), want)
			}
		})
	}
}
