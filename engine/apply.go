package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/graph"
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/state"
	"github.com/google/uuid"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// ApplyResult is the outcome of an apply.
type ApplyResult struct {
	Run      state.Run
	Failures []StepFailure
	// Tolerated are failures of steps with continue_on_error: their
	// dependents ran and the apply still succeeds.
	Tolerated   []StepFailure
	Skipped     []string // not run because something upstream failed
	NotStarted  []string // not run because the apply was interrupted
	Interrupted bool
	Outputs     map[string]cty.Value
	Durations   map[string]time.Duration // of every step that did something

	// Waiting are steps whose approval gate stopped the apply; Blocked
	// the steps that did not run because they depend on one.
	Waiting []string
	Blocked []string
}

// StepFailure is one failed step.
type StepFailure struct {
	Addr string
	Err  error
}

// OK reports whether everything in the plan was done.
func (r *ApplyResult) OK() bool {
	return len(r.Failures) == 0 && len(r.Skipped) == 0 && len(r.NotStarted) == 0 && !r.Interrupted &&
		len(r.Waiting) == 0 && len(r.Blocked) == 0
}

// ApplyOptions are what Engine.Apply works on, besides its context.
type ApplyOptions struct {
	Pipeline *config.Pipeline
	State    *state.State
	Plan     *Plan
	// Vars are the variable values, as the plan recorded them
	// (Plan.VariablesFromPlan) or as it was made with.
	Vars map[string]cty.Value
	// Parallelism bounds how many steps run at once; < 1 means 1.
	Parallelism int
	// Stop, when closed, stops scheduling new steps: running ones finish
	// and are recorded. Nil never stops.
	Stop <-chan struct{}
}

// Apply carries out o.Plan. Closing o.Stop stops scheduling new steps
// (running ones finish and are recorded); cancelling ctx also cancels
// running steps. Every finished step is recorded in the store before its
// dependents start.
func (e *Engine) Apply(ctx context.Context, o ApplyOptions) (*ApplyResult, hcl.Diagnostics) {
	w, planned, diags := e.bindPlan(ctx, o)
	if diags.HasErrors() {
		return nil, diags
	}
	a := &applier{w: w, e: e, st: o.State, planned: planned, bindings: o.Plan.Bindings, durations: map[string]time.Duration{}}
	if err := a.startRun(o.Plan); err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot write the state", Detail: err.Error()})
	}
	res := a.walk(ctx, o.Parallelism, o.Stop)
	out := a.result(ctx, o.Stop, res)
	diags = append(diags, a.finishOutputs(o.Plan.Destroy, out)...)
	return out, append(diags, a.finishRun(ctx, out)...)
}

// bindPlan checks that the plan still fits the state, the variables and
// the pipeline, and builds the world it is applied in: the planned changes
// by address, re-derived from the inputs as they evaluate now.
func (e *Engine) bindPlan(ctx context.Context, o ApplyOptions) (*world, map[string]*Change, hcl.Diagnostics) {
	plan, st := o.Plan, o.State
	if err := plan.CheckState(st); err != nil {
		return nil, nil, hcl.Diagnostics{staleDiagnostic(err)}
	}
	// run.number and run.id are the plan's: the values it showed.
	run := config.RunInfo{Number: plan.RunNumber, ID: plan.RunID}
	if run.Number != st.RunNumber+1 {
		return nil, nil, hcl.Diagnostics{staleDiagnostic(&StalePlanError{Reason: fmt.Sprintf("the plan is for run %d but the next run is %d", run.Number, st.RunNumber+1)})}
	}
	if run.ID == "" {
		run.ID = uuid.NewString()
	}
	key, kdiags := e.hashKey(ctx)
	if kdiags.HasErrors() {
		return nil, nil, kdiags
	}
	if err := checkPlanSecrets(plan, o.Vars, key); err != nil {
		return nil, nil, hcl.Diagnostics{staleDiagnostic(&StalePlanError{Reason: err.Error()})}
	}
	// The world sees the records at their new addresses; st gets them
	// with the first change recorded (startRun).
	moved, serr := verifyMoves(st, o.Pipeline.Moved, plan.Moves)
	if serr != nil {
		return nil, nil, hcl.Diagnostics{staleDiagnostic(serr)}
	}
	w, diags := e.buildWorld(o.Pipeline, moved, buildOptions{
		key: key, vars: o.Vars, run: run, refresh: plan.Refresh, destroy: plan.Destroy,
		targets: plan.Targets, replace: plan.Replace,
	})
	if diags.HasErrors() {
		return nil, nil, diags
	}
	planned, err := w.verifyPlan(ctx, plan)
	if err != nil {
		return nil, nil, append(diags, staleDiagnostic(err))
	}
	return w, planned, diags
}

// startRun records that the run started.
func (a *applier) startRun(plan *Plan) error {
	run := a.w.run
	a.runRec = state.Run{
		Number: run.Number, ID: run.ID, Operation: "apply", User: a.e.user(),
		Started: a.e.now().UTC(), Result: "running", Moved: len(plan.Moves),
	}
	if plan.Destroy {
		a.runRec.Operation = "destroy"
	}
	return a.record(state.Change{RunNumber: run.Number, Run: &a.runRec, Moves: plan.Moves})
}

// walk applies every instance after its dependencies.
func (a *applier) walk(ctx context.Context, parallelism int, stop <-chan struct{}) graph.WalkResult {
	w := a.w
	return w.g.Walk(ctx, graph.WalkOptions{Parallelism: parallelism, Stop: stop}, func(ctx context.Context, n int) error {
		in := w.nodes[n]
		if in.isJoin {
			return nil
		}
		return a.applyInstance(ctx, in, a.planned[in.addr])
	})
}

// result sorts what the walk did into the apply's result, and reports the
// steps it skipped.
func (a *applier) result(ctx context.Context, stop <-chan struct{}, res graph.WalkResult) *ApplyResult {
	w := a.w
	out := &ApplyResult{Durations: a.durations}
	for n, err := range res.Failed {
		out.Failures = append(out.Failures, StepFailure{Addr: w.nodes[n].addr, Err: err})
	}
	out.Tolerated = a.softFailures
	sort.Slice(out.Tolerated, func(i, j int) bool { return out.Tolerated[i].Addr < out.Tolerated[j].Addr })
	sort.Slice(out.Failures, func(i, j int) bool { return out.Failures[i].Addr < out.Failures[j].Addr })
	out.splitWaiting()
	a.reportSkipped(res, out)
	for _, n := range res.NotStarted {
		if in := w.nodes[n]; !in.isJoin && a.planned[in.addr].Action.Changes() {
			out.NotStarted = append(out.NotStarted, in.addr)
		}
	}
	sort.Strings(out.Skipped)
	sort.Strings(out.NotStarted)
	select {
	case <-stop:
		out.Interrupted = true
	default:
	}
	if ctx.Err() != nil {
		out.Interrupted = true
	}
	return out
}

// reportSkipped sorts the steps skipped because of an upstream failure
// into Skipped and Blocked (behind an approval), with an event each.
func (a *applier) reportSkipped(res graph.WalkResult, out *ApplyResult) {
	w := a.w
	for n, cause := range res.Skipped {
		in := w.nodes[n]
		if in.isJoin {
			continue
		}
		why := fmt.Sprintf("skipped because %s failed", w.nodes[cause].addr)
		if IsApprovalWait(res.Failed[cause]) {
			out.Blocked = append(out.Blocked, in.addr)
			why = fmt.Sprintf("waits for the approval of %s", w.nodes[cause].addr)
		} else {
			out.Skipped = append(out.Skipped, in.addr)
		}
		a.e.emit(Event{Type: EventStepEnd, Addr: in.addr, Action: a.planned[in.addr].Action, Result: ResultSkipped, Error: why})
	}
	sort.Strings(out.Blocked)
}

// finishOutputs evaluates the pipeline's outputs from every step's final
// value and records them (a destroy records none).
func (a *applier) finishOutputs(destroy bool, out *ApplyResult) hcl.Diagnostics {
	w := a.w
	if destroy {
		_ = a.record(state.Change{Outputs: map[string]state.Output{}})
		return nil
	}
	w.fillMissingValues()
	vals, diags := w.scope.EvalOutputs(w.outputValues())
	diags = w.skippedRefs(diags)
	if !diags.HasErrors() {
		out.Outputs = vals
		if stored := w.storedOutputs(vals); stored != nil {
			_ = a.record(state.Change{Outputs: stored})
		}
	}
	return diags
}

// finishRun records how the run ended and compacts the state into one
// snapshot.
func (a *applier) finishRun(ctx context.Context, out *ApplyResult) hcl.Diagnostics {
	var diags hcl.Diagnostics
	a.runRec.Finished = a.e.now().UTC()
	a.runRec.Result = out.runResult()
	a.runRec.Failed = len(out.Failures) + len(out.Tolerated)
	_ = a.record(state.Change{Run: &a.runRec})
	out.Run = a.runRec
	// Compact: one atomic snapshot of everything.
	if err := a.e.Store.Write(context.WithoutCancel(ctx), a.st); err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot write the state", Detail: err.Error()})
	}
	if a.stateErr != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot record a step in the state", Detail: a.stateErr.Error()})
	}
	return diags
}

// runResult is how the run ended, as the state's run record says it.
func (r *ApplyResult) runResult() string {
	switch {
	case r.Interrupted:
		return "interrupted"
	case len(r.Failures) > 0:
		return "failed"
	case len(r.Waiting) > 0:
		return "waiting"
	}
	return "ok"
}

// CheckState reports whether the plan was made against st. A plan made
// against an empty, never written state adopts that state's lineage.
func (p *Plan) CheckState(st *state.State) *StalePlanError {
	if st.Serial == 0 && p.Serial == 0 && len(st.Instances) == 0 {
		st.Lineage = p.Lineage
		return nil
	}
	if p.Lineage != st.Lineage {
		return &StalePlanError{Reason: fmt.Sprintf("the plan was made for another state (lineage %s; this state's is %s)", p.Lineage, st.Lineage)}
	}
	if p.Serial != st.Serial {
		return &StalePlanError{Reason: fmt.Sprintf("the plan was made against state serial %d, but the state is now at serial %d: another apply or state change happened since", p.Serial, st.Serial)}
	}
	return nil
}

func (e *Engine) user() string {
	if e.User != "" {
		return e.User
	}
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// applier carries the shared, synchronised results of one apply.
type applier struct {
	w        *world
	e        *Engine
	st       *state.State
	planned  map[string]*Change
	bindings map[string]*Binding

	mu           sync.Mutex
	runRec       state.Run
	durations    map[string]time.Duration
	softFailures []StepFailure // failed with continue_on_error
	stateErr     error
}

// record writes one change to the store and to the in-memory state.
func (a *applier) record(c state.Change) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c.Run != nil {
		r := *c.Run
		c.Run = &r
	}
	a.st.Apply(c)
	if err := a.e.Store.Append(context.Background(), a.st.Lineage, c); err != nil {
		if a.stateErr == nil {
			a.stateErr = err
		}
		return err
	}
	return nil
}

func (a *applier) count(action Action, failed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if failed {
		return
	}
	switch action {
	case Create:
		a.runRec.Created++
	case Update, Replace:
		a.runRec.Updated++
	case Run:
		a.runRec.Ran++
	case Delete:
		a.runRec.Deleted++
	}
}

// stepRun is one instance's apply as it moves through its phases:
// evaluate, fingerprint, run with retry, record.
type stepRun struct {
	in *inst
	ch *Change
	s  *config.Step
	p  providers.Step

	inputs     cty.Value
	raw        cty.Value // inputs without marks, as providers get them
	meta       config.Meta
	inputsJSON []byte
	refValues  map[string]string
	files      map[string]string
	fp         string

	action   providers.Action
	prior    *providers.Prior
	resp     providers.ApplyResponse
	attempts int
	started  time.Time
	finished time.Time
}

func (a *applier) applyInstance(ctx context.Context, in *inst, ch *Change) error {
	switch ch.Action {
	case Delete:
		return a.applyDelete(ctx, in, ch)
	case NoOp, Skip:
		a.applyQuiet(in, ch)
		return nil
	}
	r, err := a.evaluate(in, ch)
	if err != nil {
		return a.fail(in, ch, err)
	}
	if err := a.fingerprint(ctx, r); err != nil {
		return a.fail(in, ch, err)
	}
	if r.unchangedAfterAll() {
		// Its inputs were unknown at plan time and turned out unchanged.
		a.w.keepValue(in)
		a.e.emit(Event{Type: EventStepEnd, Addr: in.addr, Action: ch.Action, Result: ResultUnchanged})
		return nil
	}
	if r.meta.Approval != nil {
		if err := a.gate(in, ch, r.meta.Approval, r.fp); err != nil {
			return err
		}
	}
	a.e.emit(Event{Type: EventStepStart, Addr: in.addr, Action: ch.Action})
	logs := a.openLogs(in.addr, ch.Action)
	r.started = a.e.now()
	r.prepare(a.w)
	if err := a.deleteForReplace(ctx, r, logs); err != nil {
		logs.close(nil)
		return a.fail(in, ch, fmt.Errorf("deleting the old object before replacing it: %w", err))
	}
	err = a.applyWithRetry(ctx, r, logs)
	err = logs.close(err)
	r.finished = a.e.now()
	return a.recordRun(r, err)
}

// applyQuiet gives an instance the plan leaves alone its value.
func (a *applier) applyQuiet(in *inst, ch *Change) {
	w := a.w
	if ch.Action == Skip && in.prior == nil {
		if inputs, meta, diags := w.evalStep(in); !diags.HasErrors() && !meta.When {
			w.skipValue(in, inputs, nil)
			return
		}
	}
	w.keepValue(in)
}

// evaluate works out the instance's inputs as they are now, and checks
// they are still what the plan said where the plan knew them.
func (a *applier) evaluate(in *inst, ch *Change) (*stepRun, error) {
	w := a.w
	inputs, meta, reused, diags := w.inputsAtApply(in, a.planned)
	if diags.HasErrors() {
		return nil, &diagError{diags}
	}
	if !inputs.IsWhollyKnown() {
		return nil, errors.New("some inputs are still unknown after the steps they depend on ran; this is a bug in ansflow or a provider")
	}
	in.inputs, in.meta = inputs, meta
	var secrets []string
	gen := generic(inputs, &secrets, w.key)
	w.red.add(secrets...)
	if !reused {
		// Parts known only after apply are known now; the rest must still
		// be what the plan said.
		if attr := mismatch(a.bindings[in.addr], gen); attr != "" {
			return nil, fmt.Errorf("%s is not what the plan said it would be, although only values known after apply could change it; nothing was run for it", attr)
		}
	}
	r := &stepRun{in: in, ch: ch, s: in.info.step, inputs: inputs, raw: unmarked(inputs), meta: meta, inputsJSON: canonicalJSON(gen)}
	_, r.refValues = w.recordReferences(in, r.inputsJSON)
	w.red.add(meta.Secrets...)
	p, err := w.provider(r.s.Type)
	if err != nil {
		return nil, err
	}
	r.p = p
	return r, nil
}

// fingerprint hashes what the inputs point at (unless verifying the plan
// already did, before anything upstream could change it) with the inputs.
func (a *applier) fingerprint(ctx context.Context, r *stepRun) error {
	w, in := a.w, r.in
	r.files = in.verifiedFiles
	if !in.filesKnown {
		plog := w.panicLog(in.addr)
		err := guard("Fingerprint", plog, func() (err error) {
			r.files, err = r.p.Fingerprint(ctx, providers.FingerprintRequest{Addr: in.addr, Env: w.env, Inputs: r.raw})
			return err
		})
		plog.Close()
		if err != nil {
			return fmt.Errorf("reading what the step's inputs point at: %w", err)
		}
	}
	r.fp = fingerprint(r.inputsJSON, r.files)
	return nil
}

// unchangedAfterAll reports whether an update planned on inputs known only
// after apply has nothing to do now that they are known.
func (r *stepRun) unchangedAfterAll() bool {
	prior := r.in.prior
	return r.ch.Action == Update && prior != nil && prior.Status == state.StatusOK && r.fp == prior.Fingerprint && !hasDrift(r.ch)
}

// prepare picks what the provider is asked to do, with the prior object.
func (r *stepRun) prepare(w *world) {
	prior := r.in.prior
	if prior != nil {
		pp := w.priorOf(prior)
		r.prior = &pp
	}
	r.action = providerAction(r.ch.Action, prior != nil)
}

// providerAction is what the provider is asked for a planned action; a
// replacement creates after deleting the old object, and an update of
// something never recorded creates it.
func providerAction(a Action, hasPrior bool) providers.Action {
	switch a {
	case Create, Replace:
		return providers.Create
	case Update:
		if !hasPrior {
			return providers.Create
		}
		return providers.Update
	}
	return providers.Run
}

// stepLogs are the log files of one running step, with the provider's view
// of them.
type stepLogs struct {
	stdout, stderr *stepLog
	providers.Logs
}

func (a *applier) openLogs(addr string, action Action) *stepLogs {
	w := a.w
	l := &stepLogs{
		stdout: newStepLog(filepath.Join(w.env.LogDir, LogFileName(addr, "stdout")), w.red, a.lineEmitter(addr, action, "stdout")),
		stderr: newStepLog(filepath.Join(w.env.LogDir, LogFileName(addr, "stderr")), w.red, a.lineEmitter(addr, action, "stderr")),
	}
	l.Logs = providers.Logs{Stdout: l.stdout, Stderr: l.stderr, Progress: func(msg string) {
		a.e.emit(Event{Type: EventStepProgress, Addr: addr, Action: action, Message: w.red.redact(msg)})
	}}
	return l
}

// close closes both logs; err, or else the first close error, is returned.
func (l *stepLogs) close(err error) error {
	if cerr := l.stdout.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if cerr := l.stderr.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// deleteForReplace deletes the old object of a replacement first.
func (a *applier) deleteForReplace(ctx context.Context, r *stepRun, logs *stepLogs) error {
	if r.ch.Action != Replace || r.prior == nil {
		return nil
	}
	return guard("Delete", logs.stderr, func() error {
		return r.p.Delete(ctx, providers.DeleteRequest{Addr: r.in.addr, Env: a.w.env, Prior: *r.prior, Logs: logs.Logs})
	})
}

// applyWithRetry calls the provider, each attempt within the step's
// timeout, as often as its retry block allows.
func (a *applier) applyWithRetry(ctx context.Context, r *stepRun, logs *stepLogs) error {
	w, in, meta := a.w, r.in, r.meta
	delay := meta.Retry.Delay
	for attempt := 1; ; attempt++ {
		r.attempts = attempt
		actx, cancel := ctx, context.CancelFunc(func() {})
		if meta.Timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, meta.Timeout)
		}
		err := guard("Apply", logs.stderr, func() (err error) {
			r.resp, err = r.p.Apply(actx, providers.ApplyRequest{Addr: in.addr, Env: w.env, Action: r.action, Inputs: r.raw, Prior: r.prior, Logs: logs.Logs})
			return err
		})
		if err != nil && actx.Err() != nil {
			err = withCtxErr(actx, meta.Timeout, err)
		}
		cancel()
		if err == nil || ctx.Err() != nil || attempt >= meta.Retry.Attempts {
			return err
		}
		a.e.emit(Event{Type: EventStepRetry, Addr: in.addr, Action: r.ch.Action, Attempt: attempt + 1,
			Error: w.red.redact(err.Error()), Message: fmt.Sprintf("attempt %d of %d failed; retrying in %s", attempt, meta.Retry.Attempts, delay)})
		fmt.Fprintf(logs.stderr, "ansflow: attempt %d of %d failed: %s\n", attempt, meta.Retry.Attempts, err)
		if !sleep(ctx, delay) {
			return ctxErr(ctx, 0)
		}
		delay = time.Duration(float64(delay) * meta.Retry.Backoff)
	}
}

// recordRun records what the provider did (or how it failed) in the state,
// gives the instance its value and reports the end of the step.
func (a *applier) recordRun(r *stepRun, err error) error {
	w, in, ch := a.w, r.in, r.ch
	outputs := r.outputs(w.red.redact)
	rec := r.instanceRecord(w.run.Number, outputs)
	if err != nil {
		rec.Status = state.StatusFailed
		rec.Tolerated = r.meta.ContinueOnError
		rec.Error = w.red.redact(err.Error())
		if prior := in.prior; ch.Declarative && prior != nil && r.resp.Outputs == cty.NilVal {
			// Keep what we knew of the object so it can still be deleted.
			rec.Outputs, rec.Private = prior.Outputs, prior.Private
		}
	}
	if rerr := a.record(state.Change{Instance: rec}); rerr != nil && err == nil {
		err = fmt.Errorf("the step finished but its result could not be saved: %w", rerr)
	}
	if err == nil && r.meta.Approval != nil {
		a.consumeApproval(in)
	}
	in.setValue(func() cty.Value { return stepValue(r.s.Schema, r.inputs, outputs, false) })
	took := r.finished.Sub(r.started)
	a.mu.Lock()
	a.durations[in.addr] = took
	a.mu.Unlock()
	a.count(ch.Action, err != nil)
	end := Event{Type: EventStepEnd, Addr: in.addr, Action: ch.Action, Duration: took, Attempt: r.attempts, Result: ResultOK, ID: resultID(r.s.Schema, outputs)}
	if err != nil {
		end.Result = ResultFailed
		end.Error = w.red.redact(err.Error())
	}
	a.e.emit(end)
	if err == nil {
		return nil
	}
	serr := &stepError{addr: in.addr, err: errors.New(w.red.redact(err.Error()))}
	if r.meta.ContinueOnError {
		a.mu.Lock()
		a.softFailures = append(a.softFailures, StepFailure{Addr: in.addr, Err: serr})
		a.mu.Unlock()
		return nil
	}
	return serr
}

// outputs are the provider's outputs in the step type's output type (nulls
// where it said nothing), every string redacted.
func (r *stepRun) outputs(redact func(string) string) cty.Value {
	outputs := r.resp.Outputs
	if outputs == cty.NilVal || outputs.IsNull() {
		outputs = cty.NullVal(r.s.Schema.OutputType())
	} else if conv, cerr := convertOutputs(outputs, r.s.Schema.OutputType()); cerr == nil {
		outputs = conv
	}
	return redactValue(outputs, redact)
}

// instanceRecord is the state record of a successful run.
func (r *stepRun) instanceRecord(run int, outputs cty.Value) *state.Instance {
	in := r.in
	rec := &state.Instance{
		Addr: in.addr, Type: r.s.Type, Status: state.StatusOK, Fingerprint: r.fp,
		Inputs: r.inputsJSON, FileHashes: r.files, Dependencies: in.deps, References: r.refValues,
		Run: run, Started: r.started.UTC(), Finished: r.finished.UTC(), Attempts: r.attempts,
		Private: r.resp.Private,
	}
	rec.Outputs, _ = outputsToJSON(outputs, nil)
	rec.ExitCode = intOutput(outputs, "exit_code")
	return rec
}

// fail records a step that failed before its provider ran.
func (a *applier) fail(in *inst, ch *Change, err error) error {
	now := a.e.now()
	a.e.emit(Event{Type: EventStepStart, Addr: in.addr, Action: ch.Action})
	rec := &state.Instance{Addr: in.addr, Type: in.typ(), Status: state.StatusFailed, Dependencies: in.deps,
		Run: a.w.run.Number, Started: now.UTC(), Finished: now.UTC(), Error: a.w.red.redact(err.Error())}
	if in.prior != nil {
		rec.Fingerprint, rec.Inputs, rec.Outputs, rec.Private, rec.FileHashes, rec.References =
			in.prior.Fingerprint, in.prior.Inputs, in.prior.Outputs, in.prior.Private, in.prior.FileHashes, in.prior.References
	}
	_ = a.record(state.Change{Instance: rec})
	a.e.emit(Event{Type: EventStepEnd, Addr: in.addr, Action: ch.Action, Result: ResultFailed, Error: rec.Error})
	return &stepError{addr: in.addr, err: errors.New(rec.Error)}
}

func (a *applier) applyDelete(ctx context.Context, in *inst, ch *Change) error {
	a.e.emit(Event{Type: EventStepStart, Addr: in.addr, Action: Delete})
	started := a.e.now()
	var err error
	if ch.Declarative {
		var p providers.Step
		p, err = a.w.provider(in.prior.Type)
		if err == nil {
			logs := providers.Logs{Stdout: discard{}, Stderr: discard{}, Progress: func(msg string) {
				a.e.emit(Event{Type: EventStepProgress, Addr: in.addr, Action: Delete, Message: a.w.red.redact(msg)})
			}}
			plog := a.w.panicLog(in.addr)
			err = guard("Delete", plog, func() error {
				return p.Delete(ctx, providers.DeleteRequest{Addr: in.addr, Env: a.w.env, Prior: a.w.priorOf(in.prior), Logs: logs})
			})
			plog.Close()
		}
	}
	d := a.e.now().Sub(started)
	if err != nil {
		msg := a.w.red.redact(err.Error())
		a.e.emit(Event{Type: EventStepEnd, Addr: in.addr, Action: Delete, Duration: d, Result: ResultFailed, Error: msg})
		return &stepError{addr: in.addr, err: errors.New(msg)}
	}
	if rerr := a.record(state.Change{Remove: in.addr}); rerr != nil {
		return &stepError{addr: in.addr, err: rerr}
	}
	a.count(Delete, false)
	a.mu.Lock()
	a.durations[in.addr] = d
	a.mu.Unlock()
	a.e.emit(Event{Type: EventStepEnd, Addr: in.addr, Action: Delete, Duration: d, Result: ResultOK})
	return nil
}

func (a *applier) lineEmitter(addr string, action Action, stream string) func(string) {
	if a.e.Observer == nil {
		return nil
	}
	return func(line string) {
		a.e.emit(Event{Type: EventStepLog, Addr: addr, Action: action, Stream: stream, Message: line})
	}
}

// keepValue sets the value of an instance that is not changed in this
// apply: its current inputs with the outputs recorded in state.
func (w *world) keepValue(in *inst) {
	if in.info == nil {
		return
	}
	s := in.info.step
	in.setValue(func() cty.Value {
		var priorOutputs cty.Value
		if in.prior != nil {
			priorOutputs = outputsFromJSON(in.prior.Outputs, s.Schema.OutputType())
		}
		inputs, _, diags := w.evalStep(in)
		if diags.HasErrors() {
			inputs = cty.NilVal
			if in.prior != nil {
				inputs = inputsFromJSON(in.prior.Inputs)
			}
		}
		return stepValue(s.Schema, inputs, priorOutputs, false)
	})
}

// fillMissingValues gives every instance that did not run (failed upstream,
// interrupted) the value recorded in state, so outputs can be evaluated.
func (w *world) fillMissingValues() {
	for _, in := range w.nodes {
		if in.info == nil || in.valueFn != nil {
			continue
		}
		s, prior := in.info.step, in.prior
		in.setValue(func() cty.Value {
			inputs, outputs := cty.NilVal, cty.NilVal
			if prior != nil {
				inputs = inputsFromJSON(prior.Inputs)
				outputs = outputsFromJSON(prior.Outputs, s.Schema.OutputType())
			}
			return stepValue(s.Schema, inputs, outputs, false)
		})
	}
}

// storedOutputs encodes output values for the state: sensitive ones only by
// hash, every string redacted.
func (w *world) storedOutputs(vals map[string]cty.Value) map[string]state.Output {
	out := make(map[string]state.Output, len(vals))
	for name, v := range vals {
		sensitive := config.HasSensitive(v)
		if o := w.p.Outputs[name]; o != nil && o.Sensitive {
			sensitive = true
		}
		u := unmarked(v)
		if !u.IsWhollyKnown() {
			continue
		}
		if sensitive {
			collect := []string{}
			collectStrings(u, &collect)
			w.red.add(collect...)
			u = cty.StringVal(sensitiveHash(w.key, u))
		}
		u = redactValue(u, w.red.redact)
		val, err := ctyjson.Marshal(u, u.Type())
		if err != nil {
			continue
		}
		typ, _ := ctyjson.MarshalType(u.Type())
		out[name] = state.Output{Value: val, Type: typ, Sensitive: sensitive}
	}
	return out
}

func hasDrift(ch *Change) bool {
	for _, a := range ch.Attrs {
		if a.Drift {
			return true
		}
	}
	return false
}

// resultID picks a short identity of what a step produced for progress
// lines, from the outputs its schema names (an image id, a digest, an exit
// code): the first one set.
func resultID(schema *config.StepSchema, outputs cty.Value) string {
	if schema == nil || outputs == cty.NilVal || outputs.IsNull() || !outputs.Type().IsObjectType() {
		return ""
	}
	for _, id := range schema.ResultIDs {
		if c := intOutput(outputs, id.Output); c != nil {
			return fmt.Sprintf("%s%d", id.Prefix, *c)
		}
		if outputs.Type().HasAttribute(id.Output) {
			v := outputs.GetAttr(id.Output)
			if v.IsKnown() && !v.IsNull() && v.Type() == cty.String && v.AsString() != "" {
				return id.Prefix + shortID(v.AsString())
			}
		}
	}
	return ""
}

func shortID(s string) string {
	if strings.HasPrefix(s, "sha256:") && len(s) > 19 {
		return s[:19]
	}
	if len(s) > 12 && !strings.Contains(s, ":") {
		return s[:12]
	}
	return s
}

func convertOutputs(v cty.Value, t cty.Type) (cty.Value, error) {
	if v.Type().Equals(t) {
		return v, nil
	}
	// Fill attributes a provider left out with nulls.
	if v.Type().IsObjectType() {
		attrs := map[string]cty.Value{}
		for name, at := range t.AttributeTypes() {
			if v.Type().HasAttribute(name) {
				attrs[name] = v.GetAttr(name)
			} else {
				attrs[name] = cty.NullVal(at)
			}
		}
		return cty.ObjectVal(attrs), nil
	}
	return v, fmt.Errorf("outputs are not an object")
}

// withCtxErr explains why a step's context ended, keeping what the provider
// said about it (e.g. the last thing a wait saw, or an unreachable endpoint)
// unless that is only the bare context error.
func withCtxErr(ctx context.Context, timeout time.Duration, err error) error {
	why := ctxErr(ctx, timeout)
	msg := err.Error()
	if msg == context.DeadlineExceeded.Error() || msg == context.Canceled.Error() {
		return why
	}
	return fmt.Errorf("%v: %s", why, msg)
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
