package transform

import (
	"bytes"
	"strings"
	"testing"
)

func TestFormatFloatLikeDuckDB(t *testing.T) {
	for in, want := range map[float64]string{1500000: "1500000.0", 0.1: "0.1", 12.5: "12.5", 0: "0.0", -3: "-3.0", 1e20: "1e+20", 0.00001: "1e-05", 123456789012.25: "123456789012.25"} {
		if got := formatFloat(in); got != want {
			t.Errorf("%v printed %q, want %q", in, got, want)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	rows := [][]any{{"a|b", int64(1)}, {nil, 2.5}}
	i := 0
	next := func() ([]any, bool, error) {
		if i == len(rows) {
			return nil, false, nil
		}
		i++
		return rows[i-1], true, nil
	}
	var buf bytes.Buffer
	if err := writeMarkdown(&buf, []string{"s", "n"}, next); err != nil {
		t.Fatal(err)
	}
	want := "| s | n |\n|---|---|\n| a\\|b | 1 |\n| NULL | 2.5 |\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	if strings.Count(buf.String(), "\n") != 4 {
		t.Errorf("a row spans lines")
	}
}
