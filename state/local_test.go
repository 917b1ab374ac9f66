package state_test

import (
	"testing"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/storetest"
)

func TestLocalConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) state.Store {
		return state.NewLocal(t.TempDir(), "default")
	})
}
