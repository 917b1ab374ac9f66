package state_test

import (
	"testing"

	"github.com/ansflow/ansflow/state"
)

func TestStaleRuns(t *testing.T) {
	st := state.New("default")
	st.Runs = []state.Run{{Number: 1, Result: "ok"}, {Number: 2, Result: "running"}}
	changes := st.StaleRuns()
	if len(changes) != 1 || changes[0].Run.Number != 2 || changes[0].Run.Result != state.RunInterrupted {
		t.Fatalf("StaleRuns = %+v, want run 2 interrupted", changes)
	}
	if st.Runs[1].Result != "running" {
		t.Errorf("StaleRuns changed the state itself: %+v", st.Runs[1])
	}
	for _, c := range changes {
		st.Apply(c)
	}
	if st.Runs[1].Result != state.RunInterrupted || len(st.StaleRuns()) != 0 {
		t.Errorf("after applying the changes: %+v", st.Runs)
	}
}
