package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

func init() {
	register(&command{
		name:    "version",
		usage:   "",
		summary: "print rawland's version, commit and Go/DuckDB build facts",
		run:     runVersion,
	})
}

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version or the VCS revision is shown.
var version = ""

func runVersion(_ context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return usagef("version takes no arguments")
	}
	v, rev, dirty, at := version, "", false, ""
	var duck string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			case "vcs.time":
				at = s.Value
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/duckdb/duckdb-go/v2" {
				duck = d.Version
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	fmt.Fprintf(a.stdout, "rawland %s\n", v)
	if rev != "" {
		if dirty {
			rev += " (modified)"
		}
		fmt.Fprintf(a.stdout, "commit   %s %s\n", rev, at)
	}
	fmt.Fprintf(a.stdout, "go       %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if duck != "" {
		fmt.Fprintf(a.stdout, "duckdb-go %s\n", duck)
	}
	return nil
}
