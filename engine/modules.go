package engine

import (
	"strings"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/graph"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// moduleKey is the StepValues key under which module calls are found:
// module.NAME in expressions.
const moduleKey = "module"

// modulePrefix is the address prefix of the steps of m: "" at the root,
// else its path and a dot.
func modulePrefix(m *graph.ModuleInstance) string {
	if m == nil || m.Path == "" {
		return ""
	}
	return m.Path + "."
}

// scopeFor is the scope of module instance m with the values steps have
// now: its variables are what its caller passes, evaluated with the
// caller's current step values (a step not visited yet is unknown).
func (w *world) scopeFor(m *graph.ModuleInstance) (*config.Scope, hcl.Diagnostics) {
	if m == nil || m.Call == nil {
		return w.scope, nil
	}
	if w.staticScope(m) {
		return w.mscopes[m], nil
	}
	w.scopeMu.Lock()
	c, ok := w.scopeCache[m]
	w.scopeMu.Unlock()
	if ok {
		return c.scope, c.diags
	}
	parent, diags := w.scopeFor(m.Parent)
	var refs []config.StepRef
	for _, a := range m.Call.Args {
		refs = append(refs, a.Refs...)
	}
	vals, d := w.valuesFor(m.Parent, refs)
	diags = append(diags, d...)
	s, d := parent.Module(m.Call, m.Key, vals)
	diags = append(diags, d...)
	// Once every step the arguments read has its value (which does not
	// change until resetValues), the scope does not change either.
	if w.settled(m.Parent, refs) {
		w.scopeMu.Lock()
		if w.scopeCache == nil {
			w.scopeCache = map[*graph.ModuleInstance]cachedScope{}
		}
		w.scopeCache[m] = cachedScope{s, diags}
		w.scopeMu.Unlock()
	}
	return s, diags
}

// cachedScope is a module instance's scope once its inputs are settled.
type cachedScope struct {
	scope *config.Scope
	diags hcl.Diagnostics
}

// settled reports whether every step refs read in m (through module
// outputs too) has its value, and m's own scope is settled.
func (w *world) settled(m *graph.ModuleInstance, refs []config.StepRef) bool {
	if m != nil && m.Call != nil && !w.staticScope(m) {
		w.scopeMu.Lock()
		_, ok := w.scopeCache[m]
		w.scopeMu.Unlock()
		if !ok {
			return false
		}
	}
	for _, r := range refs {
		if r.DependsOn {
			continue
		}
		if _, isModule := r.ModuleRef(); isModule {
			return false // outputs are worked out each time
		}
		if dep := w.steps[modulePrefix(m)+r.Addr]; dep == nil || dep.value() == cty.NilVal {
			return false
		}
	}
	return true
}

// resetScopes forgets the module scopes worked out from step values (see
// resetValues).
func (w *world) resetScopes() {
	w.scopeMu.Lock()
	w.scopeCache = nil
	w.scopeMu.Unlock()
}

// staticScope reports whether the scope of m built by expandModules (with
// step values unknown) is its scope at any time: no argument of its call,
// nor of a call around it, reads a step or a module.
func (w *world) staticScope(m *graph.ModuleInstance) bool {
	for ; m != nil && m.Call != nil; m = m.Parent {
		for _, a := range m.Call.Args {
			if len(a.Refs) > 0 {
				return false
			}
		}
	}
	return true
}

// refValues are the values of the steps and modules si refers to.
func (w *world) refValues(si *stepInfo) (config.StepValues, hcl.Diagnostics) {
	return w.valuesFor(si.mod, si.step.Refs)
}

// valuesFor are the values of the steps and module calls of m that refs
// refer to by value. A step not visited yet is unknown.
func (w *world) valuesFor(m *graph.ModuleInstance, refs []config.StepRef) (config.StepValues, hcl.Diagnostics) {
	sv := config.StepValues{}
	var diags hcl.Diagnostics
	prefix := modulePrefix(m)
	for _, r := range refs {
		if r.DependsOn {
			continue
		}
		typ, name, _ := strings.Cut(r.Addr, ".")
		if _, done := sv[typ][name]; done {
			continue
		}
		var v cty.Value
		if typ == moduleKey {
			var d hcl.Diagnostics
			v, d = w.moduleValue(m, name)
			diags = append(diags, d...)
		} else if dep := w.steps[prefix+r.Addr]; dep != nil {
			v = dep.value()
		} else {
			continue
		}
		if v == cty.NilVal {
			v = cty.DynamicVal
		}
		if sv[typ] == nil {
			sv[typ] = map[string]cty.Value{}
		}
		sv[typ][name] = v
	}
	return sv, diags
}

// moduleValue is what module.NAME refers to in m: the object of the
// outputs of the call's instance, or for a call with for_each an object
// of those by key.
func (w *world) moduleValue(m *graph.ModuleInstance, name string) (cty.Value, hcl.Diagnostics) {
	if m == nil {
		m = w.tree
	}
	call := m.Body.Modules[name]
	children := m.Children[name]
	if call == nil || call.ForEach == nil && len(children) != 1 {
		return cty.DynamicVal, nil
	}
	if call.ForEach == nil {
		return w.moduleOutputs(children[0])
	}
	var diags hcl.Diagnostics
	byKey := make(map[string]cty.Value, len(children))
	for _, c := range children {
		v, d := w.moduleOutputs(c)
		diags = append(diags, d...)
		byKey[c.Key.Key] = v
	}
	if len(byKey) == 0 {
		return cty.EmptyObjectVal, diags
	}
	return cty.ObjectVal(byKey), diags
}

// moduleOutputs are the outputs of module instance m as an object.
func (w *world) moduleOutputs(m *graph.ModuleInstance) (cty.Value, hcl.Diagnostics) {
	scope, diags := w.scopeFor(m)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	vals, d := w.valuesFor(m, outputRefs(m.Body))
	diags = append(diags, d...)
	outs, d := scope.EvalOutputs(vals)
	diags = append(diags, w.skippedRefsIn(d, m)...)
	if len(outs) == 0 {
		return cty.EmptyObjectVal, diags
	}
	return cty.ObjectVal(outs), diags
}

// outputRefs are the references of every output of p.
func outputRefs(p *config.Pipeline) []config.StepRef {
	var refs []config.StepRef
	for _, o := range p.Outputs {
		refs = append(refs, o.Refs...)
	}
	return refs
}

// outputValues are the values of the steps and modules the root outputs
// refer to.
func (w *world) outputValues() config.StepValues {
	sv, _ := w.valuesFor(w.tree, outputRefs(w.p))
	return sv
}

// inputReferences is config.Scope.InputReferences for instance in.
func (w *world) inputReferences(in *inst) map[string]map[string]cty.Value {
	scope, _ := w.scopeFor(in.info.mod)
	vals, _ := w.refValues(in.info)
	return scope.InputReferences(in.info.step, in.key, vals)
}

// moduleTarget are the join nodes of every step inside the module (or
// module instance) that target names; nil when it names none.
func (w *world) moduleTarget(target string) []int {
	a, err := config.ParseAddr(target, true)
	if err != nil || !a.IsModule() {
		return nil
	}
	var joins []int
	for _, si := range w.steps {
		if inModule(si.mod, a.Module) {
			joins = append(joins, si.join)
		}
	}
	return joins
}

// inModule reports whether module instance m is inside (or is) the module
// path; a path step without a key matches every instance of its call.
func inModule(m *graph.ModuleInstance, path []config.ModuleStep) bool {
	var chain []*graph.ModuleInstance
	for ; m != nil && m.Call != nil; m = m.Parent {
		chain = append(chain, m)
	}
	if len(chain) < len(path) {
		return false
	}
	for i, p := range path {
		c := chain[len(chain)-1-i]
		if c.Call.Name != p.Name || p.Key.Valid && c.Key != p.Key {
			return false
		}
	}
	return true
}
