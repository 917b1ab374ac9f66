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
	w, diags := e.buildWorld(p, st, buildOptions{
		key: key, vars: vars, run: run, refresh: o.Refresh, destroy: o.Destroy,
		targets: o.Targets, replace: o.Replace,
	})
	if diags.HasErrors() {
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
	}
	var mu sync.Mutex
	var errs hcl.Diagnostics
	res := w.g.Walk(ctx, graph.WalkOptions{Parallelism: o.parallelism()}, func(ctx context.Context, n int) error {
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
	order, err := w.g.TopoOrder()
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Dependency cycle", Detail: err.Error()})
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
	return plan, diags
}

// planInstance decides the action of one instance.
func (w *world) planInstance(ctx context.Context, in *inst) error {
	ch := &Change{Addr: in.addr, Type: in.typ()}
	in.change = ch
	if in.orphan {
		return w.planDelete(in, ch)
	}
	s := in.info.step
	ch.Step = in.info.addr
	if in.key.Valid {
		k := in.key.Key
		ch.Key = &k
	}
	ch.DependsOn = in.deps
	inputs, meta, diags := w.evalStep(in)
	if diags.HasErrors() {
		return &diagError{diags}
	}
	in.inputs, in.meta = inputs, meta
	b := &Binding{WhenFalse: !meta.When}
	in.binding = b
	var secrets []string
	gen := generic(inputs, &secrets, w.key)
	w.red.add(secrets...)
	w.red.add(meta.Secrets...)
	inputsJSON := canonicalJSON(gen) // unknown parts as {}
	b.References, b.Values = w.recordReferences(in, inputsJSON)
	prior := in.prior
	priorValue := func(outputsUnknown bool) func() cty.Value {
		return func() cty.Value {
			var priorOutputs cty.Value
			if prior != nil && !outputsUnknown {
				priorOutputs = outputsFromJSON(prior.Outputs, s.Schema.OutputType())
			}
			return stepValue(s.Schema, inputs, priorOutputs, outputsUnknown)
		}
	}
	ch.Declarative = w.declarative(in, inputs)
	keep := func(action Action, reason string) error {
		ch.Action = action
		if reason != "" {
			ch.Reasons = append(ch.Reasons, reason)
		}
		in.setValue(priorValue(false))
		return nil
	}
	if !meta.When {
		reason := "when is false"
		if prior != nil && ch.Declarative {
			reason += "; what it created is left as it is"
		}
		ch.Action = Skip
		ch.Reasons = append(ch.Reasons, reason)
		w.skipValue(in, inputs, priorValue(false))
		return nil
	}
	if w.targets != nil && !w.targets[in.addr] {
		return keep(Skip, ReasonNotTargeted)
	}

	var files map[string]string
	if !containsUnknown(gen) {
		p, err := w.provider(s.Type)
		if err != nil {
			return err
		}
		if v, ok := p.(providers.Validator); ok {
			if err := guard("Validate", nil, func() error { return v.Validate(unmarked(inputs)) }); err != nil {
				return inputDiag(s, in.addr, err)
			}
		}
		err = guard("Fingerprint", nil, func() (err error) {
			files, err = p.Fingerprint(ctx, providers.FingerprintRequest{Addr: in.addr, Env: w.env, Inputs: unmarked(inputs)})
			return err
		})
		var ie *providers.InputError
		if errors.As(err, &ie) {
			return inputDiag(s, in.addr, err)
		}
		if err != nil {
			return fmt.Errorf("reading what the step's inputs point at: %w", err)
		}
		ch.Fingerprint = fingerprint(inputsJSON, files)
	}
	b.Inputs, b.Files = bindingJSON(gen), files
	upstream := w.changedDeps(in)
	// Attribute diffs cost a decode of the stored inputs: skip them when
	// the fingerprint says nothing changed (the common case on a rerun).
	if prior == nil || ch.Fingerprint == "" || ch.Fingerprint != prior.Fingerprint {
		var priorGen any
		if prior != nil {
			priorGen = decodeGeneric(prior.Inputs)
		}
		ch.Attrs = diffAttrs(priorGen, gen, s.Schema)
	}
	fileReasons := fileChanges(prior, files)

	if ch.Declarative {
		if err := w.planDeclarative(ctx, in, ch, inputs, files != nil || ch.Fingerprint != "", fileReasons, upstream); err != nil {
			return err
		}
	} else {
		w.planRun(in, ch, fileReasons, upstream)
	}
	if !ch.Action.Changes() {
		ch.Attrs = nil
	}
	in.setValue(priorValue(ch.Action.Changes()))
	return nil
}

// planDelete plans the removal of an instance that is no longer configured
// (or of everything, for destroy).
func (w *world) planDelete(in *inst, ch *Change) error {
	ch.Action = Delete
	ch.Declarative = true
	if schema := config.LookupStepSchema(in.prior.Type); schema != nil {
		ch.Declarative = schema.Kind == config.Declarative
		if !ch.Declarative {
			if d, ok := w.e.Providers[in.prior.Type].(providers.Declarativer); ok {
				if v := inputsFromJSON(in.prior.Inputs); v != cty.NilVal && v.Type().IsObjectType() && v.Type().HasAttribute("detach") {
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
		ch.Reasons = []string{"destroy was requested"}
	default:
		ch.Reasons = []string{"it is no longer in the configuration"}
	}
	if !ch.Declarative {
		ch.Reasons = append(ch.Reasons, "only its record is removed")
	}
	return nil
}

func (w *world) planDeclarative(ctx context.Context, in *inst, ch *Change, inputs cty.Value, known bool, fileReasons, upstream []string) error {
	prior := in.prior
	switch {
	case prior == nil:
		ch.Action = Create
		ch.Reasons = []string{"it is not in the state yet"}
		return nil
	case w.replace[in.addr]:
		ch.Action = Replace
		ch.Reasons = []string{"-replace was requested"}
		return nil
	}
	var drift []providers.Drift
	gone := false
	if w.refresh && prior.Status == state.StatusOK {
		p, err := w.provider(prior.Type)
		if err != nil {
			return err
		}
		var resp providers.ReadResponse
		err = guard("Read", nil, func() (err error) {
			resp, err = p.Read(ctx, providers.ReadRequest{Addr: in.addr, Env: w.env, Desired: unmarked(inputs), Prior: priorOf(prior)})
			return err
		})
		if err != nil {
			return fmt.Errorf("refreshing: %w", err)
		}
		gone, drift = resp.Gone, resp.Drift
		for _, d := range resp.Diff {
			a := AttrChange{Path: d.Path, Before: strPtr(d.Before), After: strPtr(d.After)}
			if d.Removed {
				a.After, a.Removed = nil, true
			}
			ch.Attrs = mergeAttr(ch.Attrs, a)
		}
	}
	if gone {
		ch.Action = Create
		ch.Reasons = []string{"it was deleted outside ansflow"}
		return nil
	}
	for _, d := range drift {
		ch.Attrs = mergeAttr(ch.Attrs, AttrChange{Path: d.Path, Before: strPtr(d.Before), After: strPtr(d.After), Drift: true})
		ch.Reasons = append(ch.Reasons, fmt.Sprintf("%s was changed outside ansflow (%s -> %s)", d.Path, d.Before, d.After))
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
	ch.Reasons = append(ch.Reasons, fileReasons...)
	if len(changed) > 0 {
		ch.Reasons = append(ch.Reasons, attrReason(ch.Attrs, upstream, w.causes(in, ch.Attrs)))
	}
	switch {
	case len(forceNew) > 0:
		ch.Action = Replace
		ch.Reasons = append(ch.Reasons, strings.Join(forceNew, ", ")+" cannot be changed in place")
	case failedUntolerated(in):
		ch.Action = Update
		ch.Reasons = append([]string{"it failed last run"}, ch.Reasons...)
	case len(ch.Reasons) > 0:
		ch.Action = Update
	case known && ch.Fingerprint != prior.Fingerprint:
		ch.Action = Update
		ch.Reasons = []string{"its inputs changed"}
	case len(prior.FileHashes) > 0 && len(upstream) > 0:
		// The files it reads (a build context) may be written by a step
		// that runs first; apply checks them again and does nothing if
		// they did not change.
		ch.Action = Update
		ch.Reasons = []string{upstreamReason(upstream) + ", which may change the files it reads (checked again before it is applied)"}
	default:
		ch.Action = NoOp
	}
	return nil
}

// failedUntolerated reports whether the instance failed last run without
// continue_on_error (still set) accepting it: such a step runs again.
func failedUntolerated(in *inst) bool {
	p := in.prior
	return p.Status == state.StatusFailed && !(p.Tolerated && in.meta.ContinueOnError)
}

func (w *world) planRun(in *inst, ch *Change, fileReasons, upstream []string) {
	prior := in.prior
	ch.Action = Run
	switch {
	case prior == nil:
		ch.Reasons = []string{"it has not run yet"}
	case w.replace[in.addr]:
		ch.Reasons = []string{"-replace was requested"}
	case failedUntolerated(in):
		r := "it failed last run"
		if prior.ExitCode != nil {
			r += fmt.Sprintf(" (exit code %d)", *prior.ExitCode)
		}
		ch.Reasons = []string{r}
	case len(upstream) > 0:
		ch.Reasons = []string{upstreamReason(upstream)}
	case ch.Fingerprint != prior.Fingerprint:
		ch.Reasons = append(ch.Reasons, fileReasons...)
		if len(ch.Attrs) > 0 {
			ch.Reasons = append(ch.Reasons, attrReason(ch.Attrs, nil, w.causes(in, ch.Attrs)))
		}
		if len(ch.Reasons) == 0 {
			ch.Reasons = []string{"its inputs changed"}
		}
	default:
		ch.Action = NoOp
	}
}

// changedDeps names the direct dependencies that this plan changes (at most
// a few, then a count). All instances of a step share the answer, so it is
// worked out once per step; every dependency is planned by then.
func (w *world) changedDeps(in *inst) []string {
	si := in.info
	si.upstreamOnce.Do(func() {
		const show = 3
		seen := map[string]bool{}
		more := 0
		for _, dep := range si.deps {
			if seen[dep.addr] {
				continue
			}
			seen[dep.addr] = true
			for _, di := range dep.instances {
				if di.change == nil || !di.change.Action.Changes() {
					continue
				}
				if len(si.upstream) < show {
					si.upstream = append(si.upstream, di.addr+" will "+di.change.Action.verb())
				} else {
					more++
				}
			}
		}
		if more > 0 {
			si.upstream = append(si.upstream, fmt.Sprintf("%d more", more))
		}
	})
	return si.upstream
}

func (a Action) verb() string {
	switch a {
	case Create:
		return "be created"
	case Update:
		return "be updated"
	case Replace:
		return "be replaced"
	case Delete:
		return "be deleted"
	case Run:
		return "run"
	}
	return "stay as it is"
}

func upstreamReason(upstream []string) string {
	return "upstream " + strings.Join(upstream, ", ")
}

// attrReason says which attributes changed and, when known, because of
// which references (causes).
func attrReason(attrs []AttrChange, upstream, causes []string) string {
	var names, unknown []string
	for _, a := range attrs {
		if a.Drift {
			continue
		}
		if a.Unknown {
			unknown = append(unknown, a.Path)
		} else {
			names = append(names, a.Path)
		}
	}
	var parts []string
	if len(names) > 0 {
		r := listNames(names) + " changed"
		if len(causes) > 0 {
			r += " (" + listNames(causes) + ")"
		}
		parts = append(parts, r)
	}
	if len(unknown) > 0 {
		r := listNames(unknown) + " will be known only after apply"
		if len(upstream) > 0 {
			r += " (" + upstreamReason(upstream) + ")"
		}
		parts = append(parts, r)
	}
	return strings.Join(parts, "; ")
}

func listNames(names []string) string {
	const max = 5
	if len(names) > max {
		return strings.Join(names[:max], ", ") + fmt.Sprintf(" and %d more", len(names)-max)
	}
	return strings.Join(names, ", ")
}

// fileChanges explains which file hashes changed since the last apply.
func fileChanges(prior *state.Instance, files map[string]string) []string {
	if prior == nil || files == nil {
		return nil
	}
	var out []string
	for k, v := range files {
		if old, ok := prior.FileHashes[k]; !ok || old != v {
			out = append(out, fmt.Sprintf("the contents of %s changed", k))
		}
	}
	sort.Strings(out)
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
// for the attributes that changed, with the old and new values:
// `var.v: "1" -> "9"`.
func (w *world) causes(in *inst, attrs []AttrChange) []string {
	if in.prior == nil || len(in.prior.References) == 0 {
		return nil
	}
	var out []string
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
