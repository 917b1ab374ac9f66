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

// Apply carries out plan. Closing stop stops scheduling new steps (running
// ones finish and are recorded); cancelling ctx also cancels running steps.
// Every finished step is recorded in the store before its dependents start.
func (e *Engine) Apply(ctx context.Context, stop <-chan struct{}, p *config.Pipeline, st *state.State, plan *Plan, vars map[string]cty.Value, parallelism int) (*ApplyResult, hcl.Diagnostics) {
	if err := plan.CheckState(st); err != nil {
		return nil, hcl.Diagnostics{staleDiagnostic(err)}
	}
	// run.number and run.id are the plan's: the values it showed.
	run := config.RunInfo{Number: plan.RunNumber, ID: plan.RunID}
	if run.Number != st.RunNumber+1 {
		return nil, hcl.Diagnostics{staleDiagnostic(&StalePlanError{Reason: fmt.Sprintf("the plan is for run %d but the next run is %d", run.Number, st.RunNumber+1)})}
	}
	if run.ID == "" {
		run.ID = uuid.NewString()
	}
	key, kdiags := e.hashKey(ctx)
	if kdiags.HasErrors() {
		return nil, kdiags
	}
	if err := checkPlanSecrets(plan, vars, key); err != nil {
		return nil, hcl.Diagnostics{staleDiagnostic(&StalePlanError{Reason: err.Error()})}
	}
	w, diags := e.buildWorld(p, st, buildOptions{
		key: key, vars: vars, run: run, refresh: plan.Refresh, destroy: plan.Destroy,
		targets: plan.Targets, replace: plan.Replace,
	})
	if diags.HasErrors() {
		return nil, diags
	}
	planned, err := w.verifyPlan(ctx, plan)
	if err != nil {
		return nil, append(diags, staleDiagnostic(err))
	}

	a := &applier{w: w, e: e, st: st, planned: planned, bindings: plan.Bindings, durations: map[string]time.Duration{}}
	a.runRec = state.Run{
		Number: run.Number, ID: run.ID, Operation: "apply", User: e.user(),
		Started: e.now().UTC(), Result: "running",
	}
	if plan.Destroy {
		a.runRec.Operation = "destroy"
	}
	if err := a.record(state.Change{RunNumber: run.Number, Run: &a.runRec}); err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot write the state", Detail: err.Error()})
	}

	res := w.g.Walk(ctx, graph.WalkOptions{Parallelism: parallelism, Stop: stop}, func(ctx context.Context, n int) error {
		in := w.nodes[n]
		if in.isJoin {
			return nil
		}
		return a.applyInstance(ctx, in, planned[in.addr])
	})

	out := &ApplyResult{Durations: a.durations}
	for n, err := range res.Failed {
		out.Failures = append(out.Failures, StepFailure{Addr: w.nodes[n].addr, Err: err})
	}
	out.Tolerated = a.softFailures
	sort.Slice(out.Tolerated, func(i, j int) bool { return out.Tolerated[i].Addr < out.Tolerated[j].Addr })
	sort.Slice(out.Failures, func(i, j int) bool { return out.Failures[i].Addr < out.Failures[j].Addr })
	out.splitWaiting()
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
		e.emit(Event{Type: EventStepEnd, Addr: in.addr, Action: planned[in.addr].Action, Result: ResultSkipped, Error: why})
	}
	sort.Strings(out.Blocked)
	for _, n := range res.NotStarted {
		if in := w.nodes[n]; !in.isJoin && planned[in.addr].Action.Changes() {
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

	// Outputs, from every step's final value.
	if !plan.Destroy {
		w.fillMissingValues()
		vals, odiags := w.scope.EvalOutputs(w.allValues())
		odiags = w.skippedRefs(odiags)
		diags = append(diags, odiags...)
		if !odiags.HasErrors() {
			out.Outputs = vals
			if stored := w.storedOutputs(vals); stored != nil {
				_ = a.record(state.Change{Outputs: stored})
			}
		}
	} else {
		_ = a.record(state.Change{Outputs: map[string]state.Output{}})
	}

	a.runRec.Finished = e.now().UTC()
	switch {
	case out.Interrupted:
		a.runRec.Result = "interrupted"
	case len(out.Failures) > 0:
		a.runRec.Result = "failed"
	case len(out.Waiting) > 0:
		a.runRec.Result = "waiting"
	default:
		a.runRec.Result = "ok"
	}
	a.runRec.Failed = len(out.Failures) + len(out.Tolerated)
	_ = a.record(state.Change{Run: &a.runRec})
	out.Run = a.runRec
	// Compact: one atomic snapshot of everything.
	if err := e.Store.Write(context.WithoutCancel(ctx), st); err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot write the state", Detail: err.Error()})
	}
	if a.stateErr != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot record a step in the state", Detail: a.stateErr.Error()})
	}
	return out, diags
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

func (a *applier) applyInstance(ctx context.Context, in *inst, ch *Change) error {
	w := a.w
	switch ch.Action {
	case Delete:
		return a.applyDelete(ctx, in, ch)
	case NoOp, Skip:
		if ch.Action == Skip && in.prior == nil {
			if inputs, meta, diags := w.evalStep(in); !diags.HasErrors() && !meta.When {
				w.skipValue(in, inputs, nil)
				return nil
			}
		}
		w.keepValue(in)
		return nil
	}
	s := in.info.step
	inputs, meta, reused, diags := w.inputsAtApply(in, a.planned)
	if diags.HasErrors() {
		return a.fail(in, ch, &diagError{diags})
	}
	if !inputs.IsWhollyKnown() {
		return a.fail(in, ch, errors.New("some inputs are still unknown after the steps they depend on ran; this is a bug in ansflow or a provider"))
	}
	in.inputs, in.meta = inputs, meta
	var secrets []string
	gen := generic(inputs, &secrets, w.key)
	w.red.add(secrets...)
	if !reused {
		// Parts known only after apply are known now; the rest must still
		// be what the plan said.
		if attr := mismatch(a.bindings[in.addr], gen); attr != "" {
			return a.fail(in, ch, fmt.Errorf("%s is not what the plan said it would be, although only values known after apply could change it; nothing was run for it", attr))
		}
	}
	inputsJSON := canonicalJSON(gen)
	_, refValues := w.recordReferences(in, inputsJSON)
	w.red.add(meta.Secrets...)
	p, err := w.provider(s.Type)
	if err != nil {
		return a.fail(in, ch, err)
	}
	raw := unmarked(inputs)
	files := in.verifiedFiles // read before the apply started, when nothing upstream could change them
	if !in.filesKnown {
		plog := w.panicLog(in.addr)
		err = guard("Fingerprint", plog, func() (err error) {
			files, err = p.Fingerprint(ctx, providers.FingerprintRequest{Addr: in.addr, Env: w.env, Inputs: raw})
			return err
		})
		plog.Close()
		if err != nil {
			return a.fail(in, ch, fmt.Errorf("reading what the step's inputs point at: %w", err))
		}
	}
	fp := fingerprint(inputsJSON, files)
	prior := in.prior
	if ch.Action == Update && prior != nil && prior.Status == state.StatusOK && fp == prior.Fingerprint && !hasDrift(ch) {
		// Its inputs were unknown at plan time and turned out unchanged.
		w.keepValue(in)
		a.e.emit(Event{Type: EventStepEnd, Addr: in.addr, Action: ch.Action, Result: ResultUnchanged})
		return nil
	}

	if meta.Approval != nil {
		if err := a.gate(in, ch, meta.Approval, fp); err != nil {
			return err
		}
	}
	a.e.emit(Event{Type: EventStepStart, Addr: in.addr, Action: ch.Action})
	logDir := w.env.LogDir
	stdout := newStepLog(filepath.Join(logDir, LogFileName(in.addr, "stdout")), w.red, a.lineEmitter(in.addr, ch.Action, "stdout"))
	stderr := newStepLog(filepath.Join(logDir, LogFileName(in.addr, "stderr")), w.red, a.lineEmitter(in.addr, ch.Action, "stderr"))
	logs := providers.Logs{Stdout: stdout, Stderr: stderr, Progress: func(msg string) {
		a.e.emit(Event{Type: EventStepProgress, Addr: in.addr, Action: ch.Action, Message: w.red.redact(msg)})
	}}
	started := a.e.now()
	var priorP *providers.Prior
	if prior != nil {
		pp := w.priorOf(prior)
		priorP = &pp
	}
	action := providers.Run
	switch ch.Action {
	case Create:
		action = providers.Create
	case Update:
		action = providers.Update
		if prior == nil {
			action = providers.Create
		}
	case Replace:
		action = providers.Create
		if prior != nil {
			if err := guard("Delete", stderr, func() error {
				return p.Delete(ctx, providers.DeleteRequest{Addr: in.addr, Env: w.env, Prior: *priorP, Logs: logs})
			}); err != nil {
				stdout.Close()
				stderr.Close()
				return a.fail(in, ch, fmt.Errorf("deleting the old object before replacing it: %w", err))
			}
		}
	}
	var resp providers.ApplyResponse
	attempts := 0
	delay := meta.Retry.Delay
	for attempt := 1; ; attempt++ {
		attempts = attempt
		actx, cancel := ctx, context.CancelFunc(func() {})
		if meta.Timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, meta.Timeout)
		}
		err = guard("Apply", stderr, func() (err error) {
			resp, err = p.Apply(actx, providers.ApplyRequest{Addr: in.addr, Env: w.env, Action: action, Inputs: raw, Prior: priorP, Logs: logs})
			return err
		})
		if err != nil && actx.Err() != nil {
			err = withCtxErr(actx, meta.Timeout, err)
		}
		cancel()
		if err == nil || ctx.Err() != nil || attempt >= meta.Retry.Attempts {
			break
		}
		a.e.emit(Event{Type: EventStepRetry, Addr: in.addr, Action: ch.Action, Attempt: attempt + 1,
			Error: w.red.redact(err.Error()), Message: fmt.Sprintf("attempt %d of %d failed; retrying in %s", attempt, meta.Retry.Attempts, delay)})
		fmt.Fprintf(stderr, "ansflow: attempt %d of %d failed: %s\n", attempt, meta.Retry.Attempts, err)
		if !sleep(ctx, delay) {
			err = ctxErr(ctx, 0)
			break
		}
		delay = time.Duration(float64(delay) * meta.Retry.Backoff)
	}
	if cerr := stdout.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if cerr := stderr.Close(); cerr != nil && err == nil {
		err = cerr
	}
	finished := a.e.now()

	outputs := resp.Outputs
	if outputs == cty.NilVal || outputs.IsNull() {
		outputs = cty.NullVal(s.Schema.OutputType())
	} else if conv, cerr := convertOutputs(outputs, s.Schema.OutputType()); cerr == nil {
		outputs = conv
	}
	outputs = redactValue(outputs, w.red.redact)
	rec := &state.Instance{
		Addr: in.addr, Type: s.Type, Status: state.StatusOK, Fingerprint: fp,
		Inputs: inputsJSON, FileHashes: files, Dependencies: in.deps, References: refValues,
		Run: w.run.Number, Started: started.UTC(), Finished: finished.UTC(), Attempts: attempts,
		Private: resp.Private,
	}
	rec.Outputs, _ = outputsToJSON(outputs, nil)
	rec.ExitCode = intOutput(outputs, "exit_code")
	if err != nil {
		rec.Status = state.StatusFailed
		rec.Tolerated = meta.ContinueOnError
		rec.Error = w.red.redact(err.Error())
		if ch.Declarative && prior != nil && resp.Outputs == cty.NilVal {
			// Keep what we knew of the object so it can still be deleted.
			rec.Outputs, rec.Private = prior.Outputs, prior.Private
		}
	}
	if rerr := a.record(state.Change{Instance: rec}); rerr != nil && err == nil {
		err = fmt.Errorf("the step finished but its result could not be saved: %w", rerr)
	}
	if err == nil && meta.Approval != nil {
		a.consumeApproval(in)
	}
	in.setValue(func() cty.Value { return stepValue(s.Schema, inputs, outputs, false) })
	a.mu.Lock()
	a.durations[in.addr] = finished.Sub(started)
	a.mu.Unlock()
	a.count(ch.Action, err != nil)
	end := Event{Type: EventStepEnd, Addr: in.addr, Action: ch.Action, Duration: finished.Sub(started), Attempt: attempts, Result: ResultOK, ID: resultID(s.Schema, outputs)}
	if err != nil {
		end.Result = ResultFailed
		end.Error = w.red.redact(err.Error())
	}
	a.e.emit(end)
	if err != nil {
		serr := &stepError{addr: in.addr, err: errors.New(w.red.redact(err.Error()))}
		if meta.ContinueOnError {
			a.mu.Lock()
			a.softFailures = append(a.softFailures, StepFailure{Addr: in.addr, Err: serr})
			a.mu.Unlock()
			return nil
		}
		return serr
	}
	return nil
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
