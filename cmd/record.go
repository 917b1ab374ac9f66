package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/runlog"
	"github.com/ansflow/ansflow/telemetry"
)

// runRecord keeps what an apply leaves besides the state: its events file
// (.ansflow/logs/<run>/events.jsonl, read by `ansflow ui` and `history
// -stats`) and, when tracing is configured, its OpenTelemetry trace.
// Nothing in it stops an apply: what cannot be written is a warning.
type runRecord struct {
	app    *App
	rec    *runlog.Recorder
	trace  *telemetry.Run
	op     string
	number int
}

// startRunRecord opens the events file and the trace of the run pl is
// about to apply.
func startRunRecord(ctx context.Context, app *App, pl *planned, destroy bool) *runRecord {
	rr := &runRecord{app: app, op: "apply", number: pl.st.RunNumber + 1} // the number Apply gives the run
	if destroy {
		rr.op = "destroy"
	}
	rr.trace = startTrace(ctx, app, pl.p, telemetry.RunInfo{Operation: rr.op, Workspace: pl.eng.Workspace, Number: rr.number})
	h := runlog.HeaderFromPlan(pl.plan, rr.number, rr.op)
	h.Workspace, h.TraceID = pl.eng.Workspace, rr.trace.TraceID()
	rec, err := runlog.Create(engine.LogDir(pl.eng.Dir, pl.eng.Workspace, rr.number), h)
	if err != nil {
		fmt.Fprintf(app.Stderr, "Warning: %v; `ansflow ui` and `history -stats` will not see this run's steps.\n", err)
		return rr
	}
	rr.rec = rec
	return rr
}

// observe returns an observer that records every event and passes it on.
func (rr *runRecord) observe(next engine.Observer) engine.Observer {
	if rr.rec == nil && rr.trace == nil {
		return next
	}
	return func(ev engine.Event) {
		if rr.rec != nil {
			rr.rec.Event(ev)
		}
		rr.trace.Event(ev)
		if next != nil {
			next(ev)
		}
	}
}

// finish ends the record with the apply's result (nil: it did not start).
func (rr *runRecord) finish(res *engine.ApplyResult) {
	result := "failed"
	if res != nil {
		result = res.Run.Result
	}
	endTrace(rr.app, rr.trace, rr.number, result)
	if rr.rec == nil {
		return
	}
	rr.rec.Finish(res, rr.op)
	if err := rr.rec.Close(); err != nil {
		fmt.Fprintf(rr.app.Stderr, "Warning: %v.\n", err)
	}
}

// printTraceID ends a human summary with the run's trace id.
func (rr *runRecord) printTraceID(asJSON bool) {
	printTraceID(rr.app, rr.trace, asJSON)
}

func printTraceID(app *App, tr *telemetry.Run, asJSON bool) {
	if id := tr.TraceID(); id != "" && !asJSON {
		fmt.Fprintf(app.Stdout, "\nTrace ID: %s\n", id)
	}
}

// startTrace begins a run's trace when telemetry is configured; a
// configuration or exporter error is a warning, and the run goes on
// without a trace.
func startTrace(ctx context.Context, app *App, p *config.Pipeline, info telemetry.RunInfo) *telemetry.Run {
	cfg, diags := telemetry.Resolve(p, app.getenv)
	if diags.HasErrors() {
		fmt.Fprintf(app.Stderr, "Warning: no trace is exported: %s\n", diags.Error())
		return nil
	}
	info.Version = Version
	tr, err := telemetry.Start(ctx, cfg, info)
	if err != nil {
		fmt.Fprintf(app.Stderr, "Warning: no trace is exported: %v\n", err)
	}
	return tr
}

func endTrace(app *App, tr *telemetry.Run, number int, result string) {
	if err := tr.End(number, result); err != nil {
		fmt.Fprintf(app.Stderr, "Warning: %v.\n", err)
	}
}

// tracePlan exports the trace of a plan that began at began.
func tracePlan(ctx context.Context, app *App, pl *planned, began time.Time, asJSON bool) {
	tr := startTrace(ctx, app, pl.p, telemetry.RunInfo{Operation: "plan", Workspace: pl.eng.Workspace, Started: began})
	tr.Plan(pl.plan)
	endTrace(app, tr, 0, "ok")
	printTraceID(app, tr, asJSON)
}
