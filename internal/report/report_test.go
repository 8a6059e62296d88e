package report_test

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rawland/rawland/internal/report"
	"github.com/rawland/rawland/state"
)

// sample is a week of runs of three streams with drift, quarantine, a
// reconcile and a failure whose error holds markup.
func sample(now time.Time) []state.Run {
	var runs []state.Run
	for i := range 21 {
		at := now.Add(-time.Duration(21-i) * 8 * time.Hour)
		for j, s := range []string{"users", "orders", "events"} {
			r := state.Run{ID: fmt.Sprintf("%s-%02d", s, i), Stream: s, Kind: state.KindIngest, Status: state.StatusTransformed,
				StartedAt: at, FinishedAt: at.Add(time.Minute), Records: int64(100*(j+1) + 7*i), CursorAfter: at.Format(time.RFC3339)}
			q := i % 4 * (j + 1)
			r.Report = fmt.Sprintf(`{"records":%d,"quarantined":%d}`, r.Records, q)
			if s == "users" && i == 10 {
				r.Report = fmt.Sprintf(`{"records":%d,"quarantined":%d,"drift":[{"path":"status","kind":"enum_value","count":12,"example":"\"suspended\""}]}`, r.Records, q)
			}
			runs = append(runs, r)
		}
	}
	runs = append(runs,
		state.Run{ID: "orders-rec", Stream: "orders", Kind: state.KindReconcile, Status: state.StatusTransformed, StartedAt: now.Add(-2 * time.Hour),
			Records: 900, Complete: true, Report: `{"records":900,"quarantined":0,"reconcile":{"complete":true,"deleted":4}}`},
		state.Run{ID: "events-bad", Stream: "events", Kind: state.KindIngest, Status: state.StatusFailed, StartedAt: now.Add(-time.Hour),
			Error: `page 3: <script>alert(1)</script> 500 from upstream`},
	)
	return runs
}

func render(t *testing.T) []byte {
	t.Helper()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	if err := report.Write(&buf, report.Data{Title: "/srv/etl/rawland.yaml", Runs: sample(now), Now: now}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReportContent(t *testing.T) {
	page := string(render(t))
	if n := strings.Count(page, "<svg"); n != 4 {
		t.Errorf("%d charts, want 4 (freshness, records, quarantine rate, outcomes)", n)
	}
	for _, want := range []string{"enum_value", "&#34;suspended&#34;", `{&#34;complete&#34;:true,&#34;deleted&#34;:4}`, "events-bad", "65 runs"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Errorf("an upstream error's markup reached the page unescaped")
	}
	// self-contained: the only URLs are XML namespace names, never fetched
	for _, u := range regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']?[a-z]+:`).FindAllString(page, -1) {
		t.Errorf("external reference %q", u)
	}
	for _, u := range regexp.MustCompile(`https?://[^"' )]+`).FindAllString(page, -1) {
		if u != "http://www.w3.org/2000/svg" && u != "http://www.w3.org/1999/xlink" {
			t.Errorf("URL %q in the page", u)
		}
	}
}

func TestReportEmptyHistory(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Write(&buf, report.Data{Title: "x", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "No runs yet.") {
		t.Errorf("an empty history does not say so")
	}
}

// TestReportRendersInChromium opens the page in headless Chromium (Debian's
// chromium; .ci/run installs it), screenshots it and checks the picture is
// not blank: charts draw many coloured pixels. The PNG is kept as
// testdata/report.png when RAWLAND_REPORT_PNG is set (the README's picture).
func TestReportRendersInChromium(t *testing.T) {
	bin := ""
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed: .ci/run installs it (apt-get install -y chromium)")
		}
		t.Skip("chromium is not installed (apt-get install -y chromium); CI runs this test")
	}
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	if err := os.WriteFile(html, render(t), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report.png")
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1100,2400", "--screenshot="+shot, "file://"+html)
	out, err := runBounded(cmd, 90*time.Second)
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	colours := map[[3]uint32]bool{}
	inked := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				inked++
			}
			colours[[3]uint32{r >> 12, g >> 12, bl >> 12}] = true
		}
	}
	total := (b.Dx() / 2) * (b.Dy() / 2)
	t.Logf("screenshot %dx%d: %.1f%% inked, %d colours", b.Dx(), b.Dy(), 100*float64(inked)/float64(total), len(colours))
	if inked < total/50 || len(colours) < 8 {
		t.Fatalf("the rendered page looks blank: %d of %d sampled pixels inked, %d colours", inked, total, len(colours))
	}
	if keep := os.Getenv("RAWLAND_REPORT_PNG"); keep != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(keep, b, 0o644)
	}
}

// runBounded runs cmd and kills it after d.
func runBounded(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return out.Bytes(), fmt.Errorf("chromium did not finish within %s", d)
	}
}
