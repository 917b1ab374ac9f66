package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/graph"
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/state"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Options control planning (and applying, which plans first).
type Options struct {
	Targets     []string
	Replace     []string
	Refresh     bool
	Destroy     bool
	Parallelism int // for refresh during plan and for apply; default 10
}

func (o Options) parallelism() int {
	if o.Parallelism < 1 {
		return 10
	}
	return o.Parallelism
}

// Plan compares the pipeline with the state and says what an apply would do.
// vars are the resolved variable values (config.Pipeline.ResolveVariables).
func (e *Engine) Plan(ctx context.Context, p *config.Pipeline, st *state.State, vars map[string]cty.Value, o Options) (*Plan, hcl.Diagnostics) {
	run := config.RunInfo{Number: st.RunNumber + 1, ID: e.newRunID()}
	key, kdiags := e.hashKey(ctx)
	if kdiags.HasErrors() {
		return nil, kdiags
	}
	// moved blocks rename records first: the plan is made against the
	// state as it will be once apply records the moves.
	st, moves, diags := applyMoves(st, p.Moved)
	if diags.HasErrors() {
		return nil, diags
	}
	w, wdiags := e.buildWorld(p, st, buildOptions{
		key: key, vars: vars, run: run, refresh: o.Refresh, destroy: o.Destroy,
		targets: o.Targets, replace: o.Replace,
	})
	if diags = append(diags, wdiags...); diags.HasErrors() {
		return nil, diags
	}
	if diags = append(diags, w.checkMovedFrom(moves, p.Moved)...); diags.HasErrors() {
		return nil, diags
	}
	for _, r := range o.Replace {
		if _, ok := w.byAddr[r]; !ok {
			return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -replace",
				Detail: fmt.Sprintf("%q is not an instance of this pipeline; use a full instance address as `ansflow state list` shows it.", r)})
		}
	}
	plan := &Plan{
		FormatVersion: PlanFormatVersion,
		Created:       e.now().UTC(),
		Workspace:     e.Workspace,
		Lineage:       st.Lineage,
		Serial:        st.Serial,
		RunNumber:     run.Number,
		RunID:         run.ID,
		Destroy:       o.Destroy,
		Refresh:       o.Refresh,
		Targets:       o.Targets,
		Replace:       o.Replace,
		Sources:       sourceHashes(p),
		Variables:     planVariables(p, vars, w.key),
		Moves:         moves,
	}
	res, errs := w.planAll(ctx, o.parallelism())
	diags = append(diags, errs...)
	if ctx.Err() != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Plan interrupted", Detail: "Planning was cancelled before it finished; nothing was changed."})
	}
	if diags.HasErrors() || !res.OK() {
		return nil, diags
	}
	// Outputs are evaluated with what the plan knows, so a broken output
	// stops the plan instead of failing after the steps ran.
	if !o.Destroy && len(p.Outputs) > 0 {
		vals, odiags := w.scope.EvalOutputs(w.outputValues())
		if odiags = w.skippedRefs(odiags); odiags.HasErrors() {
			return nil, append(diags, odiags...)
		}
		plan.Outputs = outputChanges(p, st, vals, false, key)
	} else if o.Destroy {
		plan.Outputs = outputChanges(p, st, nil, true, key)
	}
	if err := w.collectChanges(plan); err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Dependency cycle", Detail: err.Error()})
	}
	return plan, diags
}

// planAll plans every instance after its dependencies; a failure is a
// diagnostic, and what depends on it is not planned.
func (w *world) planAll(ctx context.Context, parallelism int) (graph.WalkResult, hcl.Diagnostics) {
	var mu sync.Mutex
	var errs hcl.Diagnostics
	res := w.g.Walk(ctx, graph.WalkOptions{Parallelism: parallelism}, func(ctx context.Context, n int) error {
		in := w.nodes[n]
		if in.isJoin {
			return nil
		}
		if err := w.planInstance(ctx, in); err != nil {
			mu.Lock()
			if ds := Diagnostics(err); ds != nil {
				errs = append(errs, ds...)
			} else {
				errs = append(errs, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot plan " + in.addr, Detail: w.red.redact(err.Error())})
			}
			mu.Unlock()
			return err
		}
		return nil
	})
	return res, errs
}

// collectChanges puts every instance's change and binding in the plan, in
// dependency order.
func (w *world) collectChanges(plan *Plan) error {
	order, err := w.g.TopoOrder()
	if err != nil {
		return err
	}
	plan.Bindings = map[string]*Binding{}
	for _, n := range order {
		in := w.nodes[n]
		if in.change != nil {
			plan.Changes = append(plan.Changes, in.change)
		}
		if in.binding != nil {
			plan.Bindings[in.addr] = in.binding
		}
	}
	plan.Builtins = builtins(plan.Bindings)
	markMovedFrom(plan.Changes, plan.Moves)
	return nil
}

// planInstance decides the action of one instance: evaluate its inputs,
// leave it out (when = false, -target), fingerprint what they point at,
// diff them with the state and classify the change.
func (w *world) planInstance(ctx context.Context, in *inst) error {
	ch := &Change{Addr: in.addr, Type: in.typ()}
	in.change = ch
	if in.orphan {
		return w.planDelete(in, ch)
	}
	ev, err := w.evaluateForPlan(in, ch)
	if err != nil {
		return err
	}
	ch.Declarative = w.declarative(in, ev.inputs)
	if !ev.meta.When {
		ch.Action = Skip
		ch.Why = append(ch.Why, Reason{Code: ReasonWhenFalse, Kept: in.prior != nil && ch.Declarative})
		w.skipValue(in, ev.inputs, ev.value(false))
		return nil
	}
	if w.targets != nil && !w.targets[in.addr] {
		ch.Action = Skip
		ch.Why = append(ch.Why, Reason{Code: ReasonNotTargeted})
		in.setValue(ev.value(false))
		return nil
	}
	files, err := w.planFingerprint(ctx, in, ch, ev)
	if err != nil {
		return err
	}
	ev.binding.Inputs, ev.binding.Files = bindingJSON(ev.gen), files
	upstream := w.changedDeps(in)
	w.diffInputs(in, ch, ev.gen)
	fileReasons := fileChanges(in.prior, files)
	if ch.Declarative {
		if err := w.planDeclarative(ctx, in, ch, ev.inputs, files != nil || ch.Fingerprint != "", fileReasons, upstream); err != nil {
			return err
		}
	} else {
		w.planRun(in, ch, fileReasons, upstream)
	}
	if !ch.Action.Changes() {
		ch.Attrs = nil
	}
	in.setValue(ev.value(ch.Action.Changes()))
	return nil
}

// planEval is what planning evaluated of one configured instance.
type planEval struct {
	in         *inst
	inputs     cty.Value
	meta       config.Meta
	gen        any    // inputs in generic form, sensitive values as hashes
	inputsJSON []byte // unknown parts as {}
	binding    *Binding
}

// value is what references to the instance see after the plan: its inputs
// with the outputs recorded in state, or outputs known only after apply.
func (ev *planEval) value(outputsUnknown bool) func() cty.Value {
	s, prior, inputs := ev.in.info.step, ev.in.prior, ev.inputs
	return func() cty.Value {
		var priorOutputs cty.Value
		if prior != nil && !outputsUnknown {
			priorOutputs = outputsFromJSON(prior.Outputs, s.Schema.OutputType())
		}
		return stepValue(s.Schema, inputs, priorOutputs, outputsUnknown)
	}
}

// evaluateForPlan evaluates the inputs of a configured instance and starts
// its change and binding with what it reads.
func (w *world) evaluateForPlan(in *inst, ch *Change) (*planEval, error) {
	ch.Step = in.info.addr
	if in.key.Valid {
		k := in.key.Key
		ch.Key = &k
	}
	ch.DependsOn = in.deps
	inputs, meta, diags := w.evalStep(in)
	if diags.HasErrors() {
		return nil, &diagError{diags}
	}
	in.inputs, in.meta = inputs, meta
	ev := &planEval{in: in, inputs: inputs, meta: meta, binding: &Binding{WhenFalse: !meta.When}}
	in.binding = ev.binding
	var secrets []string
	ev.gen = generic(inputs, &secrets, w.key)
	w.red.add(secrets...)
	w.red.add(meta.Secrets...)
	ev.inputsJSON = canonicalJSON(ev.gen)
	ev.binding.References, ev.binding.Values = w.recordReferences(in, ev.inputsJSON)
	return ev, nil
}

// planFingerprint validates the inputs and hashes what they point at, when
// they are known; the change's fingerprint stays "" otherwise.
func (w *world) planFingerprint(ctx context.Context, in *inst, ch *Change, ev *planEval) (map[string]string, error) {
	if containsUnknown(ev.gen) {
		return nil, nil
	}
	s := in.info.step
	p, err := w.provider(s.Type)
	if err != nil {
		return nil, err
	}
	raw := unmarked(ev.inputs)
	if v, ok := p.(providers.Validator); ok {
		if err := guard("Validate", nil, func() error { return v.Validate(raw) }); err != nil {
			return nil, inputDiag(s, in.addr, err)
		}
	}
	var files map[string]string
	err = guard("Fingerprint", nil, func() (err error) {
		files, err = p.Fingerprint(ctx, providers.FingerprintRequest{Addr: in.addr, Env: w.env, Inputs: raw})
		return err
	})
	var ie *providers.InputError
	if errors.As(err, &ie) {
		return nil, inputDiag(s, in.addr, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading what the step's inputs point at: %w", err)
	}
	ch.Fingerprint = fingerprint(ev.inputsJSON, files)
	return files, nil
}

// diffInputs lists the attributes whose values changed since the last
// apply. The diff costs a decode of the stored inputs: it is skipped when
// the fingerprint says nothing changed (the common case on a rerun).
func (w *world) diffInputs(in *inst, ch *Change, gen any) {
	prior := in.prior
	if prior != nil && ch.Fingerprint != "" && ch.Fingerprint == prior.Fingerprint {
		return
	}
	var priorGen any
	if prior != nil {
		priorGen = decodeGeneric(prior.Inputs)
	}
	ch.Attrs = diffAttrs(priorGen, gen, in.info.step.Schema)
}

// planDelete plans the removal of an instance that is no longer configured
// (or of everything, for destroy).
func (w *world) planDelete(in *inst, ch *Change) error {
	ch.Action = Delete
	ch.Declarative = true
	if schema := w.p.Schemas.Lookup(in.prior.Type); schema != nil {
		ch.Declarative = schema.Kind == config.Declarative
		if !ch.Declarative && schema.DeclarativeWhen != "" {
			if d, ok := w.e.Providers[in.prior.Type].(providers.Declarativer); ok {
				if v := inputsFromJSON(in.prior.Inputs); v != cty.NilVal && v.Type().IsObjectType() && v.Type().HasAttribute(schema.DeclarativeWhen) {
					ch.Declarative = d.IsDeclarative(v)
				}
			}
		}
	}
	ch.Step = in.addr
	if a, err := config.ParseAddr(in.addr, false); err == nil {
		ch.Step = a.StepAddr()
	}
	switch {
	case w.destroy:
		ch.Why = []Reason{{Code: ReasonDestroy}}
	default:
		ch.Why = []Reason{{Code: ReasonOrphan}}
	}
	if !ch.Declarative {
		ch.Why = append(ch.Why, Reason{Code: ReasonRecordOnly})
	}
	return nil
}

func (w *world) planDeclarative(ctx context.Context, in *inst, ch *Change, inputs cty.Value, known bool, fileReasons []Reason, upstream upstreamChanges) error {
	prior := in.prior
	switch {
	case prior == nil:
		ch.Action = Create
		ch.Why = []Reason{{Code: ReasonNew}}
		return nil
	case w.replace[in.addr]:
		ch.Action = Replace
		ch.Why = []Reason{{Code: ReasonReplaceRequested}}
		return nil
	}
	gone, drift, err := w.refreshObject(ctx, in, ch, inputs)
	if err != nil {
		return err
	}
	if gone {
		ch.Action = Create
		ch.Why = []Reason{{Code: ReasonGone}}
		return nil
	}
	for _, d := range drift {
		ch.Attrs = mergeAttr(ch.Attrs, AttrChange{Path: d.Path, Before: strPtr(d.Before), After: strPtr(d.After), Drift: true})
		ch.Why = append(ch.Why, Reason{Code: ReasonDrift, Attrs: []string{d.Path}, Before: d.Before, After: d.After})
	}
	var forceNew []string
	var changed []string
	for _, a := range ch.Attrs {
		if a.Drift {
			continue
		}
		if a.ForceNew {
			forceNew = append(forceNew, a.Path)
		}
		changed = append(changed, a.Path)
	}
	ch.Why = append(ch.Why, fileReasons...)
	if len(changed) > 0 {
		ch.Why = append(ch.Why, attrsReason(ch.Attrs, upstream, w.causes(in, ch.Attrs)))
	}
	switch {
	case len(forceNew) > 0:
		ch.Action = Replace
		ch.Why = append(ch.Why, Reason{Code: ReasonForceNew, Attrs: forceNew})
	case failedUntolerated(in):
		ch.Action = Update
		ch.Why = append([]Reason{{Code: ReasonFailedLastTime}}, ch.Why...)
	case len(ch.Why) > 0:
		ch.Action = Update
	case known && ch.Fingerprint != prior.Fingerprint:
		ch.Action = Update
		ch.Why = []Reason{{Code: ReasonInputsChanged}}
	case len(prior.FileHashes) > 0 && upstream.any():
		// The files it reads (a build context) may be written by a step
		// that runs first; apply checks them again and does nothing if
		// they did not change.
		ch.Action = Update
		ch.Why = []Reason{upstream.reason(ReasonUpstreamFiles)}
	default:
		ch.Action = NoOp
	}
	return nil
}

// refreshObject reads the real object of a declarative instance (with
// refresh on, when its last apply succeeded): whether it is gone, how it
// drifted, and the provider's own diff merged into the change's attributes.
func (w *world) refreshObject(ctx context.Context, in *inst, ch *Change, inputs cty.Value) (bool, []providers.Drift, error) {
	prior := in.prior
	if !w.refresh || prior.Status != state.StatusOK {
		return false, nil, nil
	}
	p, err := w.provider(prior.Type)
	if err != nil {
		return false, nil, err
	}
	var resp providers.ReadResponse
	err = guard("Read", nil, func() (err error) {
		resp, err = p.Read(ctx, providers.ReadRequest{Addr: in.addr, Env: w.env, Desired: unmarked(inputs), Prior: w.priorOf(prior)})
		return err
	})
	if err != nil {
		return false, nil, fmt.Errorf("refreshing: %w", err)
	}
	for _, d := range resp.Diff {
		a := AttrChange{Path: d.Path, Before: strPtr(d.Before), After: strPtr(d.After)}
		if d.Removed {
			a.After, a.Removed = nil, true
		}
		ch.Attrs = mergeAttr(ch.Attrs, a)
	}
	return resp.Gone, resp.Drift, nil
}

// failedUntolerated reports whether the instance failed last run without
// continue_on_error (still set) accepting it: such a step runs again.
func failedUntolerated(in *inst) bool {
	p := in.prior
	return p.Status == state.StatusFailed && !(p.Tolerated && in.meta.ContinueOnError)
}

func (w *world) planRun(in *inst, ch *Change, fileReasons []Reason, upstream upstreamChanges) {
	prior := in.prior
	ch.Action = Run
	switch {
	case prior == nil:
		ch.Why = []Reason{{Code: ReasonNeverRan}}
	case w.replace[in.addr]:
		ch.Why = []Reason{{Code: ReasonReplaceRequested}}
	case failedUntolerated(in):
		ch.Why = []Reason{{Code: ReasonFailedLastTime, ExitCode: prior.ExitCode}}
	case upstream.any():
		ch.Why = []Reason{upstream.reason(ReasonUpstreamChanged)}
	case ch.Fingerprint != prior.Fingerprint:
		ch.Why = append(ch.Why, fileReasons...)
		if len(ch.Attrs) > 0 {
			ch.Why = append(ch.Why, attrsReason(ch.Attrs, upstreamChanges{}, w.causes(in, ch.Attrs)))
		}
		if len(ch.Why) == 0 {
			ch.Why = []Reason{{Code: ReasonInputsChanged}}
		}
	default:
		ch.Action = NoOp
	}
}

// changedDeps names the direct dependencies that this plan changes (the
// first few, then a count). All instances of a step share the answer, so
// it is worked out once per step; every dependency is planned by then.
func (w *world) changedDeps(in *inst) upstreamChanges {
	si := in.info
	si.upstreamOnce.Do(func() {
		seen := map[string]bool{}
		for _, dep := range si.deps {
			if seen[dep.addr] {
				continue
			}
			seen[dep.addr] = true
			for _, di := range dep.instances {
				if di.change != nil && di.change.Action.Changes() {
					si.upstream = append(si.upstream, di.addr)
				}
			}
		}
	})
	var u upstreamChanges
	for i, addr := range si.upstream {
		if i == upstreamShown {
			u.more = len(si.upstream) - upstreamShown
			break
		}
		u.shown = append(u.shown, Upstream{Addr: addr, Action: w.byAddr[addr].change.Action})
	}
	return u
}

// fileChanges names the files whose hashes changed since the last apply,
// in the order of their sentences.
func fileChanges(prior *state.Instance, files map[string]string) []Reason {
	if prior == nil || files == nil {
		return nil
	}
	var out []Reason
	for k, v := range files {
		if old, ok := prior.FileHashes[k]; !ok || old != v {
			out = append(out, Reason{Code: ReasonFilesChanged, File: k})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File+" changed" < out[j].File+" changed" })
	return out
}

func mergeAttr(list []AttrChange, c AttrChange) []AttrChange {
	for i := range list {
		if list[i].Path == c.Path {
			if c.Drift {
				list[i].Drift = true
				list[i].Before = c.Before
			}
			return list
		}
	}
	return append(list, c)
}

// sourceHashes hashes each pipeline file, so a saved plan can tell whether
// the files changed since.
func sourceHashes(p *config.Pipeline) map[string]string {
	out := make(map[string]string, len(p.Files))
	for name, f := range p.Files {
		sum := sha256.Sum256(f.Bytes)
		out[filepath.Base(name)] = hex.EncodeToString(sum[:])
	}
	return out
}

// planVariables records variable values; sensitive ones only by hash.
func planVariables(p *config.Pipeline, vars map[string]cty.Value, key []byte) map[string]PlanVariable {
	out := make(map[string]PlanVariable, len(vars))
	for name, v := range vars {
		if config.HasSensitive(v) {
			out[name] = PlanVariable{Sensitive: true, Hash: sensitiveHash(key, unmarked(v))}
			continue
		}
		v = unmarked(v)
		val, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			continue
		}
		typ, err := ctyjson.MarshalType(v.Type())
		if err != nil {
			continue
		}
		out[name] = PlanVariable{Value: val, Type: typ}
	}
	return out
}

// CheckSources reports pipeline files that differ from when the plan was made.
func (p *Plan) CheckSources(pl *config.Pipeline) *StalePlanError {
	now := sourceHashes(pl)
	var changed []string
	for name, h := range p.Sources {
		if now[name] != h {
			changed = append(changed, name)
		}
	}
	for name := range now {
		if _, ok := p.Sources[name]; !ok {
			changed = append(changed, name)
		}
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		return &StalePlanError{Reason: fmt.Sprintf("the pipeline files changed since the plan was made (%s)", strings.Join(changed, ", "))}
	}
	return nil
}

// VariablesFromPlan restores the variable values saved in a plan. Sensitive
// values must be supplied again (in fresh) and must match the saved hash.
func (p *Plan) VariablesFromPlan(fresh map[string]cty.Value, sensitive func(string) bool) (map[string]cty.Value, error) {
	out := make(map[string]cty.Value, len(p.Variables))
	for name, pv := range p.Variables {
		if pv.Sensitive {
			v, ok := fresh[name]
			// A keyed hash is checked by Apply, which has the key.
			if !ok || !strings.HasPrefix(pv.Hash, keyedHashPrefix) && sensitiveHash(nil, unmarked(v)) != pv.Hash {
				return nil, fmt.Errorf("the sensitive variable %q is not stored in plan files; supply the same value again (for example with ANSFLOW_VAR_%s) to apply this plan", name, name)
			}
			out[name] = v
			continue
		}
		t, err := ctyjson.UnmarshalType(pv.Type)
		if err != nil {
			return nil, fmt.Errorf("plan file: variable %q: %v", name, err)
		}
		v, err := ctyjson.Unmarshal(pv.Value, t)
		if err != nil {
			return nil, fmt.Errorf("plan file: variable %q: %v", name, err)
		}
		if sensitive(name) {
			v = v.Mark(config.Sensitive)
		}
		out[name] = v
	}
	return out, nil
}

// inputDiag turns a provider's complaint about a step's inputs into a
// diagnostic: at the attribute it names, when the step sets it, else at
// the step's block.
func inputDiag(s *config.Step, addr string, err error) error {
	subject := s.DeclRange
	detail := err.Error()
	var ie *providers.InputError
	if errors.As(err, &ie) {
		if r, ok := s.InputRange(ie.Input); ok {
			subject = r
		}
	}
	return &diagError{hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid " + addr,
		Detail: detail + ".", Subject: subject.Ptr()}}}
}

// builtinRoots are the roots of references whose values come from outside
// the configuration.
var builtinRoots = []string{"env(", "file", "templatefile(", "git.", "run.", "workspace", "path."}

// builtins collects the values the changes read from outside the
// configuration.
func builtins(bindings map[string]*Binding) map[string]string {
	out := map[string]string{}
	for _, b := range bindings {
		for name, v := range b.Values {
			for _, r := range builtinRoots {
				if strings.HasPrefix(name, r) {
					out[name] = v
				}
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// causes names the references whose value changed since the last apply
// for the attributes that changed, with the old and new values.
func (w *world) causes(in *inst, attrs []AttrChange) []Cause {
	if in.prior == nil || len(in.prior.References) == 0 {
		return nil
	}
	var out []Cause
	seen := map[string]bool{}
	for _, a := range attrs {
		top := topAttr(a.Path)
		if a.Drift || a.Unknown || seen[top] {
			continue
		}
		seen[top] = true
		for _, c := range changedRefs(top, nil, in.prior.References, in.refs, true, w.red.redact, w.key) {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}
