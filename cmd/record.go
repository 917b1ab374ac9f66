package cmd

import (
	"fmt"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/runlog"
)

// runRecord keeps what an apply leaves besides the state: its events file
// (.ansflow/logs/<run>/events.jsonl, read by `ansflow ui` and `history
// -stats`). Nothing in it stops an apply: a file that cannot be written is
// a warning.
type runRecord struct {
	app *App
	rec *runlog.Recorder
	op  string
}

// startRunRecord opens the events file of the run pl is about to apply.
func startRunRecord(app *App, pl *planned, destroy bool) *runRecord {
	rr := &runRecord{app: app, op: "apply"}
	if destroy {
		rr.op = "destroy"
	}
	number := pl.st.RunNumber + 1 // the number Apply gives the run
	h := runlog.HeaderFromPlan(pl.plan, number, rr.op)
	h.Workspace = pl.eng.Workspace
	rec, err := runlog.Create(engine.LogDir(pl.eng.Dir, pl.eng.Workspace, number), h)
	if err != nil {
		fmt.Fprintf(app.Stderr, "Warning: %v; `ansflow ui` and `history -stats` will not see this run's steps.\n", err)
		return rr
	}
	rr.rec = rec
	return rr
}

// observe returns an observer that records every event and passes it on.
func (rr *runRecord) observe(next engine.Observer) engine.Observer {
	if rr.rec == nil {
		return next
	}
	return func(ev engine.Event) {
		rr.rec.Event(ev)
		if next != nil {
			next(ev)
		}
	}
}

// finish ends the record with the apply's result (nil: it did not start).
func (rr *runRecord) finish(res *engine.ApplyResult) {
	if rr.rec == nil {
		return
	}
	rr.rec.Finish(res, rr.op)
	if err := rr.rec.Close(); err != nil {
		fmt.Fprintf(rr.app.Stderr, "Warning: %v.\n", err)
	}
}
