package transform

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Query output formats.
const (
	FormatTable = "table"
	FormatCSV   = "csv"
	FormatJSON  = "json"
	// FormatMarkdown is a GitHub-flavoured Markdown table.
	FormatMarkdown = "markdown"
)

// Query runs DuckDB SQL on the published warehouse snapshot opened
// read-only (writes fail) and writes the last statement's result to w as an
// aligned table, CSV (header row, NULL as empty) or JSON (an array of
// objects, keys in column order). It never waits for a transform: the job
// works on its private working database (see openSnapshot).
func Query(ctx context.Context, warehousePath, query, format string, w io.Writer) error {
	switch format {
	case FormatTable, FormatCSV, FormatJSON, FormatMarkdown:
	default:
		return fmt.Errorf("unknown output format %q: use table, csv, json or markdown", format)
	}
	wh, err := openSnapshot(ctx, warehousePath)
	if err != nil {
		return err
	}
	defer wh.close()
	rows, err := wh.conn.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name()
	}
	next := func() ([]any, bool, error) {
		if !rows.Next() {
			return nil, false, rows.Err()
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, false, err
		}
		for i, c := range cols {
			vals[i] = plain(vals[i], c.DatabaseTypeName())
		}
		return vals, true, nil
	}
	switch format {
	case FormatCSV:
		cw := csv.NewWriter(w)
		cw.Write(names)
		for {
			vals, ok, err := next()
			if err != nil || !ok {
				cw.Flush()
				return firstErr(err, cw.Error())
			}
			rec := make([]string, len(vals))
			for i, v := range vals {
				if v != nil {
					rec[i] = text(v)
				}
			}
			cw.Write(rec)
		}
	case FormatJSON:
		io.WriteString(w, "[")
		n := 0
		for {
			vals, ok, err := next()
			if err != nil || !ok {
				if n > 0 {
					io.WriteString(w, "\n")
				}
				_, werr := io.WriteString(w, "]\n")
				return firstErr(err, werr)
			}
			var b bytes.Buffer
			if n > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n  {")
			for i, v := range vals {
				if i > 0 {
					b.WriteString(", ")
				}
				k, _ := json.Marshal(names[i])
				b.Write(k)
				b.WriteString(": ")
				js, err := jsonText(v)
				if err != nil {
					js = strconv.Quote(fmt.Sprint(v))
				}
				b.WriteString(js)
			}
			b.WriteString("}")
			n++
			if _, err := w.Write(b.Bytes()); err != nil {
				return err
			}
		}
	}
	if format == FormatMarkdown {
		return writeMarkdown(w, names, next)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	seps := make([]string, len(names))
	for i, n := range names {
		seps[i] = strings.Repeat("-", max(utf8.RuneCountInString(n), 1))
	}
	fmt.Fprintln(tw, strings.Join(seps, "\t"))
	n := 0
	for {
		vals, ok, err := next()
		if err != nil || !ok {
			tw.Flush()
			noun := "rows"
			if n == 1 {
				noun = "row"
			}
			fmt.Fprintf(w, "(%d %s)\n", n, noun)
			return err
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = "NULL"
			if v != nil {
				cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(text(v))
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
		n++
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// plain turns a scanned DuckDB value into JSON-friendly Go values: times as
// RFC 3339 strings (dates as YYYY-MM-DD), big numbers as json.Number,
// nested values recursively.
func plain(v any, typ string) any {
	switch x := v.(type) {
	case nil, string, bool, int64, int32, int16, int8, uint64, uint32, uint16, uint8, int, json.Number:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return x
	case float32:
		return plain(float64(x), typ)
	case time.Time:
		switch typ {
		case "DATE":
			return x.Format(time.DateOnly)
		case "TIME":
			return x.Format("15:04:05.999999")
		case "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S":
			return x.Format("2006-01-02T15:04:05.999999999")
		}
		return x.UTC().Format(time.RFC3339Nano)
	case *big.Int:
		return json.Number(x.String())
	case duckdb.Decimal:
		return json.Number(x.String())
	case duckdb.UUID:
		return x.String()
	case *duckdb.UUID:
		return x.String()
	case duckdb.Interval:
		return fmt.Sprintf("%d months %d days %s", x.Months, x.Days, time.Duration(x.Micros)*time.Microsecond)
	case duckdb.Union:
		return map[string]any{x.Tag: plain(x.Value, "")}
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return fmt.Sprintf("\\x%x", x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e, "")
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e, "")
		}
		return out
	case duckdb.Map:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(plain(k, ""))] = plain(e, "")
		}
		return out
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// text is a plain value as one cell of text: strings as they are, numbers
// in Go's shortest form, nested values as JSON.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return formatFloat(x)
	case map[string]any, []any:
		s, err := jsonText(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return s
	}
	return fmt.Sprint(v)
}

// formatFloat prints a double as DuckDB does: positional notation with the
// shortest digits that round-trip ("1500000.0", "0.1"), scientific only for
// magnitudes of 1e15 and above or below 1e-4.
func formatFloat(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	if a := math.Abs(x); a != 0 && (a >= 1e15 || a < 1e-4) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// writeMarkdown writes rows as a Markdown table (pipes and newlines in cells
// escaped).
func writeMarkdown(w io.Writer, names []string, next func() ([]any, bool, error)) error {
	esc := strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ")
	row := func(cells []string) string {
		for i, c := range cells {
			cells[i] = esc.Replace(c)
		}
		return "| " + strings.Join(cells, " | ") + " |\n"
	}
	seps := make([]string, len(names))
	for i := range seps {
		seps[i] = "---"
	}
	if _, err := io.WriteString(w, row(slices.Clone(names))+"|"+strings.Join(seps, "|")+"|\n"); err != nil {
		return err
	}
	for {
		vals, ok, err := next()
		if err != nil || !ok {
			return err
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = "NULL"
			if v != nil {
				cells[i] = text(v)
			}
		}
		if _, err := io.WriteString(w, row(cells)); err != nil {
			return err
		}
	}
}
