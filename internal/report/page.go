package report

import "html/template"

// pageTmpl is the whole page: inline CSS, inline SVG, no script, no
// external reference of any kind.
var pageTmpl = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rawland report: {{.Title}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1000px; color: #222; background: #fff; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #666; }
.chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #f6f6f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; word-break: break-all; }
.empty { color: #888; font-style: italic; }
.bad { color: #b00020; }
</style>
</head>
<body>
<h1>rawland report</h1>
<p class="meta">{{.Title}} · {{.Streams}} streams · {{.Runs}} runs · generated {{.Generated}}</p>

<h2>Freshness</h2>
<div class="chart">{{.FreshChart}}</div>
<table>
<tr><th>stream</th><th>last committed run</th><th>age</th><th>status</th><th>cursor</th></tr>
{{range .Fresh}}<tr><td>{{.Stream}}</td><td>{{.LastRun}}</td><td>{{.Age}}</td><td>{{.Status}}</td><td><code>{{.Cursor}}</code></td></tr>
{{end}}</table>

<h2>Records per run</h2>
<div class="chart">{{.RecordsChart}}</div>

<h2>Quarantine rate</h2>
<div class="chart">{{.QuarantineChart}}</div>

<h2>Run outcomes</h2>
<div class="chart">{{.Outcomes}}</div>

<h2>Drift events</h2>
{{if .Drift}}<table>
<tr><th>when</th><th>stream</th><th>field</th><th>change</th><th class="num">records</th><th>example</th></tr>
{{range .Drift}}<tr><td>{{.At}}</td><td>{{.Stream}}</td><td><code>{{.Path}}</code></td><td>{{.Kind}}</td><td class="num">{{.Count}}</td><td><code>{{.Example}}</code></td></tr>
{{end}}</table>{{else}}<p class="empty">No drift seen.</p>{{end}}

<h2>Reconcile outcomes</h2>
{{if .Reconciles}}<table>
<tr><th>when</th><th>stream</th><th>run</th><th class="num">records</th><th>outcome</th></tr>
{{range .Reconciles}}<tr><td>{{.At}}</td><td>{{.Stream}}</td><td><code>{{.RunID}}</code></td><td class="num">{{.Records}}</td><td><code>{{.Outcome}}</code></td></tr>
{{end}}</table>{{else}}<p class="empty">No reconcile yet.</p>{{end}}

<h2>Failed and partial runs</h2>
{{if .Failures}}<table>
<tr><th>when</th><th>stream</th><th>run</th><th>status</th><th>error</th></tr>
{{range .Failures}}<tr><td>{{.At}}</td><td>{{.Stream}}</td><td><code>{{.RunID}}</code></td><td class="bad">{{.Status}}</td><td>{{.Error}}</td></tr>
{{end}}</table>{{else}}<p class="empty">None.</p>{{end}}
</body>
</html>
`))
