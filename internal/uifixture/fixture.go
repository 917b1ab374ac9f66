// Package uifixture writes a pipeline directory with one finished run of n
// steps (its state and its events file) for the dashboard's benchmarks,
// without running anything.
package uifixture

import (
	"context"
	"fmt"
	"time"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/runlog"
	"github.com/ansflow/ansflow/state"
)

// Width is the number of steps in each layer of the fixture's graph.
const Width = 50

// Write creates run 1 of n exec steps in dir: layers of Width steps, each
// depending on two steps of the layer before; every tenth step retried
// once, one in a hundred failed.
func Write(dir string, n int) error {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	plan := &engine.Plan{Workspace: "default"}
	for i := range n {
		c := &engine.Change{Addr: fmt.Sprintf("exec.step_%05d", i), Type: "exec", Action: engine.Run, Reasons: []string{"it has not run yet"}}
		if i >= Width {
			c.DependsOn = []string{fmt.Sprintf("exec.step_%05d", i-Width), fmt.Sprintf("exec.step_%05d", i-Width+(i*7)%Width-(i%Width))}
		}
		plan.Changes = append(plan.Changes, c)
	}
	rec, err := runlog.Create(engine.LogDir(dir, "default", 1), runlog.HeaderFromPlan(plan, 1, "apply"))
	if err != nil {
		return err
	}
	st := state.New("default")
	st.RunNumber = 1
	for i, c := range plan.Changes {
		t0 := start.Add(time.Duration(i/Width) * time.Second)
		t1 := t0.Add(time.Duration(200+i%700) * time.Millisecond)
		rec.Event(engine.Event{Type: engine.EventStepStart, Time: t0, Addr: c.Addr, Action: engine.Run})
		attempts := 1
		if i%10 == 0 {
			attempts = 2
			rec.Event(engine.Event{Type: engine.EventStepRetry, Time: t0.Add(100 * time.Millisecond), Addr: c.Addr, Action: engine.Run, Attempt: 2, Error: "exited with code 1"})
		}
		end := engine.Event{Type: engine.EventStepEnd, Time: t1, Addr: c.Addr, Action: engine.Run, Result: engine.ResultOK, Duration: t1.Sub(t0), Attempt: attempts, ID: "exit=0"}
		status := state.StatusOK
		if i%100 == 99 {
			end.Result, end.Error, status = engine.ResultFailed, "exited with code 2", state.StatusFailed
		}
		rec.Event(end)
		st.Instances[c.Addr] = &state.Instance{Addr: c.Addr, Type: "exec", Status: status, Run: 1, Attempts: attempts,
			Started: t0, Finished: t1, Dependencies: c.DependsOn, Inputs: []byte(`{"command":["true"]}`)}
	}
	finished := start.Add(time.Duration(n/Width+1) * time.Second)
	st.Runs = []state.Run{{Number: 1, Operation: "apply", User: "bench@host", Started: start, Finished: finished, Result: "failed", Ran: n - n/100, Failed: n / 100}}
	rec.Finish(&engine.ApplyResult{Run: st.Runs[0]}, "apply")
	if err := rec.Close(); err != nil {
		return err
	}
	return state.NewLocal(state.StateDir(dir), "default").Write(context.Background(), st)
}
