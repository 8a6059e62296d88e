package pgstore

import (
	"testing"

	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/statetest"
)

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store { return openFresh(t) })
}
