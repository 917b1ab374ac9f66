package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// ErrStalePlan is what every *StalePlanError is (errors.Is): the saved
// plan no longer matches the state, the pipeline or what its inputs read.
var ErrStalePlan = errors.New("saved plan is stale")

// StalePlanError says why a plan cannot be applied as it was made.
type StalePlanError struct {
	Addr   string // the step instance; "" when the plan as a whole is stale
	Reason string // e.g. `command changed since the plan was made (env("TARGET"))`
}

func (e *StalePlanError) Error() string {
	if e.Addr == "" {
		return e.Reason
	}
	return e.Addr + ": " + e.Reason
}

// Is makes errors.Is(err, ErrStalePlan) true.
func (e *StalePlanError) Is(target error) bool { return target == ErrStalePlan }

// staleDiagnostic turns a stale plan into the diagnostic Apply returns; the
// error rides in Extra (see DiagnosticError).
func staleDiagnostic(err *StalePlanError) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Saved plan is stale",
		Detail: err.Error() + ". Make a new plan.", Extra: err}
}

// DiagnosticError returns the typed error a diagnostic carries (a
// *StalePlanError for a stale plan), or nil.
func DiagnosticError(d *hcl.Diagnostic) error {
	if err, ok := d.Extra.(error); ok {
		return err
	}
	return nil
}

// unknownKey marks a part of a recorded input that was known only after
// apply: {"ansflow:unknown": true}. Any value matches it.
const unknownKey = "ansflow:unknown"

// bindingJSON encodes generic inputs for the plan, unknown parts included.
func bindingJSON(g any) []byte { return canonicalJSON(swapUnknown(g, true)) }

// swapUnknown turns unknownMarker parts into the recorded sentinel
// (toSentinel) or back.
func swapUnknown(g any, toSentinel bool) any {
	if _, ok := g.(unknownMarker); ok && toSentinel {
		return map[string]any{unknownKey: true}
	}
	if !toSentinel && isUnknownSentinel(g) {
		return unknownMarker{}
	}
	switch x := g.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = swapUnknown(v, toSentinel)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, v := range x {
			s[i] = swapUnknown(v, toSentinel)
		}
		return s
	}
	return g
}

func isUnknownSentinel(g any) bool {
	m, ok := g.(map[string]any)
	return ok && len(m) == 1 && m[unknownKey] == true
}

// bindMatch reports whether the value now (generic) is what the plan
// recorded, where parts the plan did not know match anything.
func bindMatch(planned, now any) bool {
	if isUnknownSentinel(planned) {
		return true
	}
	switch p := planned.(type) {
	case map[string]any:
		n, ok := now.(map[string]any)
		if !ok || len(n) != len(p) {
			return false
		}
		for k, pv := range p {
			nv, ok := n[k]
			if !ok || !bindMatch(pv, nv) {
				return false
			}
		}
		return true
	case []any:
		n, ok := now.([]any)
		if !ok || len(n) != len(p) {
			return false
		}
		for i := range p {
			if !bindMatch(p[i], n[i]) {
				return false
			}
		}
		return true
	case nil:
		return now == nil
	}
	switch now.(type) {
	case map[string]any, []any, unknownMarker, nil:
		return false
	}
	return planned == now // string, json.Number or bool on both sides
}

// hashedPrefix starts the recorded form of a value that is kept only as a
// hash.
const hashedPrefix = "(sha256:"

// refForms returns the display form of a referenced value, the JSON text
// it would have inside the inputs, and its hashed form.
func refForms(v cty.Value) (display, raw, hashed string) {
	g := generic(unmarked(v), nil, nil)
	b := canonicalJSON(g)
	sum := sha256.Sum256(b)
	hashed = hashedPrefix + hex.EncodeToString(sum[:8]) + ")"
	if str, ok := g.(string); ok {
		return strconv.Quote(str), string(b[1 : len(b)-1]), hashed
	}
	return string(b), string(b), hashed
}

// recordRef is how a referenced value is recorded. It is shown only when
// the inputs (exposed, in JSON) already show it and it is short; else it
// is kept as a hash, so that nothing reaches a plan or the state that the
// inputs did not already hold (sha256(file("key")) keeps the key out).
func recordRef(v cty.Value, exposed, key []byte) string {
	switch {
	case config.HasSensitive(v):
		return sensitiveHash(key, unmarked(v))
	case !v.IsWhollyKnown():
		return knownAfterApply
	}
	display, raw, hashed := refForms(v)
	if len(display) > 64 || !bytes.Contains(exposed, []byte(raw)) {
		return hashed
	}
	return display
}

// refNow is v in the form of recorded (display, hash, sensitive hash or
// unknown), so that the two compare.
func refNow(recorded string, v cty.Value, redact func(string) string, key []byte) string {
	switch {
	case !v.IsWhollyKnown():
		return knownAfterApply
	case strings.HasPrefix(recorded, "(sensitive:") || config.HasSensitive(v):
		return sensitiveHash(key, unmarked(v))
	}
	display, _, hashed := refForms(v)
	if strings.HasPrefix(recorded, hashedPrefix) {
		return hashed
	}
	return redact(display)
}

// showRef is what a reason shows of a recorded reference value.
func showRef(s string) string {
	switch {
	case strings.HasPrefix(s, "(sensitive:"):
		return "(sensitive value)"
	case strings.HasPrefix(s, hashedPrefix):
		return "(hash " + strings.TrimSuffix(strings.TrimPrefix(s, hashedPrefix), ")") + ")"
	}
	return s
}

// recordReferences evaluates what each attribute of in reads and records
// it on in; it returns the names by attribute and the recorded forms (see
// recordRef) of their values, with known secrets redacted. exposed is the
// inputs of in in JSON.
func (w *world) recordReferences(in *inst, exposed []byte) (map[string][]string, map[string]string) {
	in.refs = w.inputReferences(in)
	if len(in.refs) == 0 {
		return nil, nil
	}
	names := make(map[string][]string, len(in.refs))
	values := map[string]string{}
	for attr, m := range in.refs {
		for name, v := range m {
			names[attr] = append(names[attr], name)
			values[name] = w.red.redact(recordRef(v, exposed, w.key))
		}
		sort.Strings(names[attr])
	}
	return names, values
}

// changedRefs lists the references of attr (recorded in names, or read
// now) whose value differs between before (recorded) and now: by name, or
// withValues with both values (in display form) for those known on both
// sides.
func changedRefs(attr string, names []string, before map[string]string, now map[string]map[string]cty.Value, withValues bool, redact func(string) string, key []byte) []Cause {
	all := append([]string(nil), names...)
	for n := range now[attr] {
		all = append(all, n)
	}
	sort.Strings(all)
	all = slices.Compact(all)
	var out []Cause
	for _, name := range all {
		old, had := before[name]
		v, ok := now[attr][name]
		var cur string
		if ok {
			cur = refNow(old, v, redact, key)
		}
		switch {
		case had && ok && old == cur:
		case !withValues:
			out = append(out, Cause{Ref: name})
		case had && ok && cur != knownAfterApply && old != knownAfterApply:
			out = append(out, Cause{Ref: name, Before: showRef(old), After: showRef(cur)})
		}
	}
	return out
}

// verifyPlan re-derives every planned change from the inputs as they
// evaluate now (with the plan's variables and run) and refuses the plan
// when one differs from what the plan recorded. Nothing has run yet.
// It returns the planned changes by address.
func (w *world) verifyPlan(ctx context.Context, plan *Plan) (map[string]*Change, *StalePlanError) {
	planned := make(map[string]*Change, len(plan.Changes))
	for _, c := range plan.Changes {
		planned[c.Addr] = c
	}
	for _, in := range w.nodes {
		if !in.isJoin && planned[in.addr] == nil {
			return nil, &StalePlanError{Addr: in.addr, Reason: "it is not in the plan: the pipeline changed since the plan was made"}
		}
	}
	for addr := range planned {
		if w.byAddr[addr] == nil {
			return nil, &StalePlanError{Addr: addr, Reason: "it is in the plan but no longer in the pipeline"}
		}
	}
	order, err := w.g.TopoOrder()
	if err != nil {
		return nil, &StalePlanError{Reason: err.Error()}
	}
	for _, n := range order {
		in := w.nodes[n]
		if in.isJoin {
			continue
		}
		if deleted := planned[in.addr].Action == Delete; deleted != in.orphan {
			if in.orphan {
				return nil, &StalePlanError{Addr: in.addr, Reason: fmt.Sprintf("the plan would %s it, but it is no longer configured", planned[in.addr].Action)}
			}
			return nil, &StalePlanError{Addr: in.addr, Reason: "the plan would delete it, but it is configured"}
		}
		if in.orphan {
			continue
		}
		b := plan.Bindings[in.addr]
		if b == nil {
			return nil, &StalePlanError{Addr: in.addr, Reason: "the plan has no record of what it was made from"}
		}
		if err := w.verifyInstance(ctx, in, planned[in.addr], b); err != nil {
			return nil, err
		}
	}
	w.resetValues()
	return planned, nil
}

func (w *world) verifyInstance(ctx context.Context, in *inst, ch *Change, b *Binding) *StalePlanError {
	s := in.info.step
	// What the attributes read now; worked out only when needed.
	now := sync.OnceValue(func() map[string]map[string]cty.Value {
		return w.inputReferences(in)
	})
	stale := func(attr string) *StalePlanError {
		r := attr + " changed since the plan was made"
		var names []string
		for _, c := range changedRefs(attr, b.References[attr], b.Values, now(), false, w.red.redact, w.key) {
			names = append(names, c.Ref)
		}
		if len(names) > 0 {
			r += " (" + strings.Join(names, ", ") + ")"
		}
		return &StalePlanError{Addr: in.addr, Reason: r}
	}
	inputs, meta, diags := w.evalStep(in)
	if diags.HasErrors() {
		return &StalePlanError{Addr: in.addr, Reason: "its inputs no longer evaluate: " + (&diagError{diags}).Error()}
	}
	changes := ch.Action.Changes()
	prior := in.prior
	in.verified = &verifiedInputs{inputs: inputs, meta: meta}
	in.setValue(func() cty.Value {
		var priorOutputs cty.Value
		if prior != nil && !changes {
			priorOutputs = outputsFromJSON(prior.Outputs, s.Schema.OutputType())
		}
		return stepValue(s.Schema, inputs, priorOutputs, changes)
	})
	if meta.When == b.WhenFalse {
		return stale(config.WhenAttr)
	}
	if !changes {
		return nil
	}
	if b.Inputs == nil {
		return &StalePlanError{Addr: in.addr, Reason: "the plan has no record of its inputs"}
	}
	gen := generic(inputs, nil, w.key)
	if attr := mismatch(b, gen); attr != "" {
		return stale(attr)
	}
	var plannedInputs map[string]any
	if bytes.Contains(b.Inputs, []byte(unknownKey)) {
		plannedInputs, _ = decodeGeneric(b.Inputs).(map[string]any)
	}
	for attr, v := range plannedInputs {
		if containsUnknown(swapUnknown(v, false)) && !sameNames(b.References[attr], now()[attr]) {
			return &StalePlanError{Addr: in.addr, Reason: attr + " reads other values than when the plan was made"}
		}
	}
	if ch.Fingerprint == "" {
		return nil
	}
	p, err := w.provider(s.Type)
	if err != nil {
		return &StalePlanError{Addr: in.addr, Reason: err.Error()}
	}
	var files map[string]string
	err = guard("Fingerprint", nil, func() (err error) {
		files, err = p.Fingerprint(ctx, providers.FingerprintRequest{Addr: in.addr, Env: w.env, Inputs: unmarked(inputs)})
		return err
	})
	if err != nil {
		return &StalePlanError{Addr: in.addr, Reason: "reading what its inputs point at: " + err.Error()}
	}
	if len(in.deps) == 0 {
		in.verifiedFiles, in.filesKnown = files, true
	}
	if fingerprint(canonicalJSON(gen), files) != ch.Fingerprint {
		var changed []string
		for _, k := range unionKeys(b.Files, files) {
			if b.Files[k] != files[k] {
				changed = append(changed, k)
			}
		}
		what := "what it reads"
		if len(changed) > 0 {
			what = "the contents of " + strings.Join(changed, ", ")
		}
		return &StalePlanError{Addr: in.addr, Reason: what + " changed since the plan was made"}
	}
	return nil
}

func sameNames(names []string, now map[string]cty.Value) bool {
	if len(names) != len(now) {
		return false
	}
	for _, n := range names {
		if _, ok := now[n]; !ok {
			return false
		}
	}
	return true
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// resetValues forgets the values computed while verifying, so the apply
// computes them again from what really ran.
func (w *world) resetValues() {
	for _, in := range w.nodes {
		in.valueFn, in.valueOnce, in.value = nil, sync.Once{}, cty.NilVal
	}
	for _, si := range w.steps {
		si.agg = cty.NilVal
	}
}

// verifiedInputs are an instance's inputs as evaluated while verifying.
type verifiedInputs struct {
	inputs cty.Value
	meta   config.Meta
}

// inputsAtApply evaluates the inputs of in for the apply, reusing those
// evaluated while verifying when no step it depends on changes in this
// apply (then nothing it reads can have changed since).
func (w *world) inputsAtApply(in *inst, planned map[string]*Change) (cty.Value, config.Meta, bool, hcl.Diagnostics) {
	if v := in.verified; v != nil && !w.depsChange(in, planned) {
		return v.inputs, v.meta, true, nil
	}
	inputs, meta, diags := w.evalStep(in)
	return inputs, meta, false, diags
}

// mismatch names the first top-level input whose value now (generic)
// differs from what b recorded, or "".
func mismatch(b *Binding, now any) string {
	if b == nil || b.Inputs == nil {
		return ""
	}
	planned, _ := decodeGeneric(b.Inputs).(map[string]any)
	nowInputs, _ := now.(map[string]any)
	for _, attr := range unionKeys(planned, nowInputs) {
		if !bindMatch(planned[attr], nowInputs[attr]) {
			return attr
		}
	}
	return ""
}

// depsChange reports whether a direct dependency of in changes.
func (w *world) depsChange(in *inst, planned map[string]*Change) bool {
	for _, d := range in.deps {
		if si := w.steps[d]; si != nil {
			for _, di := range si.instances {
				if c := planned[di.addr]; c == nil || c.Action.Changes() {
					return true
				}
			}
			continue
		}
		if c := planned[d]; c == nil || c.Action.Changes() {
			return true
		}
	}
	return false
}
