package transform

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rawland/rawland/config"
)

// ErrWarehouseBusy means another rawland process kept the private working
// database (transforming, reconciling or replaying) for longer than
// transform.lock_wait. Readers of the published warehouse never cause it.
// Nothing was changed; every pending run is still pending. The CLI exits 75.
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
	if e.Holder == "rawland" {
		return fmt.Sprintf("the working database %s is in use by another rawland transform, reconcile or replay (%s), waited %s: the next run picks up; nothing was changed (every run waiting for it still waits)",
			e.Path, who, e.Waited.Round(time.Millisecond))
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

// ErrNoSchema: the stream has no JSON Schema yet (no schema key and no
// schemas/<stream>.json); its landed runs wait, untouched.
var ErrNoSchema = errors.New("no schema")

func noSchemaError(cfg *config.Config, st *config.Stream) error {
	return fmt.Errorf("stream %s has no schema yet (no schema key and no %s): its landed runs wait; draft one from them with `rawland schema draft %s --write`, review it, then transform: %w",
		st.Name, filepath.Join(cfg.Dir, "schemas", st.Name+".json"), st.Name, ErrNoSchema)
}
