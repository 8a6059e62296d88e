// Package report renders `rawland report`: one self-contained HTML page
// (inline SVG charts, inline CSS, no script and no network at view time)
// that shows a data directory's history from the state store's runs and
// the transform reports recorded with them:
//
//   - records landed per run, per stream, over time;
//   - the quarantine rate of each transformed run over time;
//   - freshness: how old each stream's last committed run is;
//   - run outcomes per stream (committed, transformed, failed, abandoned);
//   - drift events and reconcile outcomes as tables.
//
// Charts are drawn by github.com/wcharczuk/go-chart as SVG, so the page
// needs nothing but a browser.
package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	chart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"

	"github.com/rawland/rawland/state"
)

// runReport is the part of a transform report the page reads (the JSON
// that transform records with each run; see transform.RunReport).
type runReport struct {
	Records     int64           `json:"records"`
	Quarantined int64           `json:"quarantined"`
	Drift       []drift         `json:"drift"`
	Reconcile   json.RawMessage `json:"reconcile"`
}

type drift struct {
	Path    string `json:"path"`
	Kind    string `json:"kind"`
	Count   int64  `json:"count"`
	Example string `json:"example"`
}

// Data is what the page shows.
type Data struct {
	// Title heads the page (e.g. the config file).
	Title string
	// Runs are every run to show, any order.
	Runs []state.Run
	// Now is when the page is made (freshness is measured against it).
	Now time.Time
}

// page is what the template renders.
type page struct {
	Title, Generated                                    string
	Streams, Runs                                       int
	RecordsChart, QuarantineChart, FreshChart, Outcomes template.HTML
	Fresh                                               []freshRow
	Drift                                               []driftRow
	Reconciles                                          []reconcileRow
	Failures                                            []failRow
}

type freshRow struct{ Stream, LastRun, Age, Status, Cursor string }
type driftRow struct {
	Stream, RunID, At, Path, Kind, Example string
	Count                                  int64
}
type reconcileRow struct {
	Stream, RunID, At, Outcome string
	Records                    int64
}
type failRow struct{ Stream, RunID, At, Status, Error string }

// Write renders the page for d to w.
func Write(w io.Writer, d Data) error {
	runs := slices.Clone(d.Runs)
	slices.SortFunc(runs, func(a, b state.Run) int { return a.StartedAt.Compare(b.StartedAt) })
	byStream := map[string][]state.Run{}
	for _, r := range runs {
		byStream[r.Stream] = append(byStream[r.Stream], r)
	}
	streams := make([]string, 0, len(byStream))
	for s := range byStream {
		streams = append(streams, s)
	}
	slices.Sort(streams)
	p := page{Title: d.Title, Generated: d.Now.UTC().Format(time.RFC3339), Streams: len(streams), Runs: len(runs)}
	var err error
	if p.RecordsChart, err = seriesChart("records landed per run", streams, byStream, func(r state.Run) (float64, bool) {
		return float64(r.Records), r.Status == state.StatusCommitted || r.Status == state.StatusTransformed
	}); err != nil {
		return err
	}
	if p.QuarantineChart, err = seriesChart("quarantined, % of the run's records", streams, byStream, func(r state.Run) (float64, bool) {
		rep, ok := parseReport(r)
		if !ok || rep.Records == 0 {
			return 0, false
		}
		return 100 * float64(rep.Quarantined) / float64(rep.Records), true
	}); err != nil {
		return err
	}
	var ages []chart.Value
	for _, s := range streams {
		row := freshRow{Stream: s, LastRun: "never", Age: "-", Status: "-", Cursor: "-"}
		rs := byStream[s]
		for i := len(rs) - 1; i >= 0; i-- {
			r := rs[i]
			if r.Status != state.StatusCommitted && r.Status != state.StatusTransformed {
				continue
			}
			at := cmp.Or(r.FinishedAt, r.StartedAt)
			age := d.Now.Sub(at)
			row.LastRun, row.Age, row.Status = at.UTC().Format(time.RFC3339), age.Round(time.Second).String(), string(r.Status)
			if r.CursorAfter != "" {
				row.Cursor = r.CursorAfter
			}
			ages = append(ages, chart.Value{Label: s, Value: age.Hours()})
			break
		}
		p.Fresh = append(p.Fresh, row)
		for _, r := range rs {
			at := r.StartedAt.UTC().Format("2006-01-02 15:04")
			if rep, ok := parseReport(r); ok {
				for _, dr := range rep.Drift {
					p.Drift = append(p.Drift, driftRow{Stream: s, RunID: r.ID, At: at, Path: dr.Path, Kind: dr.Kind, Count: dr.Count, Example: dr.Example})
				}
				if r.Kind == state.KindReconcile {
					p.Reconciles = append(p.Reconciles, reconcileRow{Stream: s, RunID: r.ID, At: at, Records: r.Records, Outcome: strings.TrimSpace(string(rep.Reconcile))})
				}
			} else if r.Kind == state.KindReconcile && r.Status == state.StatusCommitted {
				p.Reconciles = append(p.Reconciles, reconcileRow{Stream: s, RunID: r.ID, At: at, Records: r.Records, Outcome: "not transformed yet"})
			}
			if r.Status == state.StatusFailed || r.Status == state.StatusAbandoned || (r.Error != "" && len(p.Failures) < 200) {
				p.Failures = append(p.Failures, failRow{Stream: s, RunID: r.ID, At: at, Status: string(r.Status), Error: r.Error})
			}
		}
	}
	if len(ages) > 0 {
		if p.FreshChart, err = barChart("hours since the last committed run", ages); err != nil {
			return err
		}
	}
	if p.Outcomes, err = outcomeChart(streams, byStream); err != nil {
		return err
	}
	slices.Reverse(p.Failures)
	p.Failures = p.Failures[:min(len(p.Failures), 50)]
	slices.Reverse(p.Drift)
	p.Drift = p.Drift[:min(len(p.Drift), 200)]
	return pageTmpl.Execute(w, p)
}

func parseReport(r state.Run) (runReport, bool) {
	var rep runReport
	if r.Report == "" || json.Unmarshal([]byte(r.Report), &rep) != nil {
		return rep, false
	}
	return rep, true
}

// palette holds distinguishable series colours.
var palette = []drawing.Color{
	drawing.ColorFromHex("1f77b4"), drawing.ColorFromHex("ff7f0e"), drawing.ColorFromHex("2ca02c"),
	drawing.ColorFromHex("d62728"), drawing.ColorFromHex("9467bd"), drawing.ColorFromHex("8c564b"),
	drawing.ColorFromHex("e377c2"), drawing.ColorFromHex("7f7f7f"), drawing.ColorFromHex("bcbd22"),
	drawing.ColorFromHex("17becf"),
}

// seriesChart draws one line per stream of value(run) over run start time.
func seriesChart(title string, streams []string, byStream map[string][]state.Run, value func(state.Run) (float64, bool)) (template.HTML, error) {
	var series []chart.Series
	for i, s := range streams {
		var xs []time.Time
		var ys []float64
		for _, r := range byStream[s] {
			if v, ok := value(r); ok {
				xs, ys = append(xs, r.StartedAt), append(ys, v)
			}
		}
		if len(xs) == 0 {
			continue
		}
		if len(xs) == 1 { // a single point draws no line: widen it
			xs, ys = append(xs, xs[0].Add(time.Second)), append(ys, ys[0])
		}
		c := palette[i%len(palette)]
		series = append(series, chart.TimeSeries{Name: s, XValues: xs, YValues: ys,
			Style: chart.Style{StrokeColor: c, StrokeWidth: 2, DotColor: c, DotWidth: 3}})
	}
	if len(series) == 0 {
		return template.HTML(`<p class="empty">No data yet.</p>`), nil
	}
	g := chart.Chart{
		Title: title, Width: 960, Height: 320,
		Background: chart.Style{Padding: chart.Box{Top: 40, Left: 10, Right: 10, Bottom: 10}},
		XAxis:      chart.XAxis{ValueFormatter: chart.TimeMinuteValueFormatter},
		YAxis:      chart.YAxis{ValueFormatter: yFormat},
		Series:     series,
	}
	g.Elements = []chart.Renderable{chart.LegendLeft(&g)}
	return renderSVG(&g)
}

func barChart(title string, vals []chart.Value) (template.HTML, error) {
	for i := range vals {
		vals[i].Style = chart.Style{FillColor: palette[i%len(palette)], StrokeColor: palette[i%len(palette)]}
	}
	top := 0.0
	for _, v := range vals {
		top = max(top, v.Value)
	}
	g := chart.BarChart{Title: title, Width: 960, Height: 280, BarWidth: 40, Bars: vals,
		Background: chart.Style{Padding: chart.Box{Top: 40}},
		YAxis: chart.YAxis{Range: &chart.ContinuousRange{Min: 0, Max: max(top*1.1, 1)},
			ValueFormatter: func(v any) string { return fmt.Sprintf("%.1f", v) }}}
	var buf bytes.Buffer
	if err := g.Render(chart.SVG, &buf); err != nil {
		return "", fmt.Errorf("draw %s: %w", title, err)
	}
	return template.HTML(buf.String()), nil // go-chart's own SVG: no user text unescaped
}

// outcomeChart stacks each stream's runs by status.
func outcomeChart(streams []string, byStream map[string][]state.Run) (template.HTML, error) {
	statuses := []state.Status{state.StatusTransformed, state.StatusCommitted, state.StatusFailed, state.StatusAbandoned, state.StatusRunning}
	colors := []drawing.Color{palette[2], palette[0], palette[3], palette[7], palette[8]}
	var bars []chart.StackedBar
	for _, s := range streams {
		n := map[state.Status]float64{}
		for _, r := range byStream[s] {
			n[r.Status]++
		}
		var vals []chart.Value
		for i, st := range statuses {
			if n[st] > 0 {
				vals = append(vals, chart.Value{Label: string(st), Value: n[st], Style: chart.Style{FillColor: colors[i], StrokeColor: colors[i]}})
			}
		}
		if len(vals) > 0 {
			bars = append(bars, chart.StackedBar{Name: s, Values: vals})
		}
	}
	if len(bars) == 0 {
		return template.HTML(`<p class="empty">No runs yet.</p>`), nil
	}
	g := chart.StackedBarChart{Title: "runs per stream by outcome", Width: 960, Height: 300, BarSpacing: 30, Bars: bars,
		Background: chart.Style{Padding: chart.Box{Top: 40}}}
	var buf bytes.Buffer
	if err := g.Render(chart.SVG, &buf); err != nil {
		return "", fmt.Errorf("draw run outcomes: %w", err)
	}
	return template.HTML(buf.String()), nil
}

func renderSVG(g *chart.Chart) (template.HTML, error) {
	var buf bytes.Buffer
	if err := g.Render(chart.SVG, &buf); err != nil {
		return "", fmt.Errorf("draw %s: %w", g.Title, err)
	}
	return template.HTML(buf.String()), nil
}

// yFormat prints axis values with one decimal below 10 (rates) and none
// above (counts).
func yFormat(v any) string {
	f, _ := v.(float64)
	if f < 10 && f > -10 {
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.0f", f)
}
