package transform

import (
	"errors"
	"fmt"
	"time"
)

// ErrWarehouseBusy means another process holds the warehouse file open
// read-write (typically an analyst's DuckDB session). Nothing was changed;
// every pending run is still pending. The CLI exits 75.
var ErrWarehouseBusy = errors.New("warehouse is busy")

// ErrNoWarehouse means the warehouse file does not exist yet (Query).
var ErrNoWarehouse = errors.New("no warehouse yet: run `rawland transform` first")

// WarehouseBusyError says who holds the warehouse. It matches
// ErrWarehouseBusy with errors.Is.
type WarehouseBusyError struct {
	Path    string        // the warehouse file
	Holder  string        // the holding program as DuckDB reports it ("" if unknown)
	PID     int           // the holding process (0 if unknown)
	Waited  time.Duration // how long we waited for it
	Message string        // DuckDB's message
}

func (e *WarehouseBusyError) Error() string {
	who := "another process"
	if e.PID != 0 {
		who = fmt.Sprintf("process %d (%s)", e.PID, e.Holder)
	}
	return fmt.Sprintf("warehouse %s is held by %s, waited %s: close that DuckDB session (or wait for it to finish) and run again; nothing was changed in the warehouse (every run waiting for it still waits)",
		e.Path, who, e.Waited.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrWarehouseBusy) true.
func (e *WarehouseBusyError) Is(target error) bool { return target == ErrWarehouseBusy }

// FieldError is one validation failure of a record: where and why.
type FieldError struct {
	// Path is the field, dotted with [i] for array elements
	// ("user.login", "labels[2].name"); "" is the record itself.
	Path   string `json:"path"`
	Reason string `json:"reason"`
}
