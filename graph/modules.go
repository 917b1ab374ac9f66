package graph

import (
	"github.com/ansflow/ansflow/config"
)

// ModuleInstance is one node of a pipeline's module tree: the root
// pipeline, or one instance of a module call.
type ModuleInstance struct {
	Call   *config.ModuleCall // nil for the root pipeline
	Key    config.InstanceKey // the call's for_each key, if it has one
	Parent *ModuleInstance    // nil for the root pipeline
	Body   *config.Pipeline   // the pipeline or module
	// Path is the module path of the instance as addresses show it:
	// "" for the root, module.a, module.svc["api"].module.b.
	Path string
	// Children are the instances of each module call made here, by call
	// name, in key order.
	Children map[string][]*ModuleInstance
}

// Keys gives the instance keys of a module call made from parent: nil for
// a call without for_each (one instance).
type Keys func(parent *ModuleInstance, call *config.ModuleCall) []string

// ModuleTree expands the module calls of p into instances; keys (nil: one
// instance per call, whose Path has no key, as the step graph draws it)
// says which instances each call with for_each has. Calls whose module
// failed to load are left out.
func ModuleTree(p *config.Pipeline, keys Keys) *ModuleInstance {
	root := &ModuleInstance{Body: p}
	expand(root, keys)
	return root
}

func expand(m *ModuleInstance, keys Keys) {
	for _, call := range m.Body.ModuleOrder {
		if call.Module == nil {
			continue
		}
		if m.Children == nil {
			m.Children = map[string][]*ModuleInstance{}
		}
		if call.ForEach == nil || keys == nil {
			m.Children[call.Name] = []*ModuleInstance{m.child(call, config.NoKey)}
		} else {
			for _, k := range keys(m, call) {
				m.Children[call.Name] = append(m.Children[call.Name], m.child(call, config.StringKey(k)))
			}
		}
		for _, c := range m.Children[call.Name] {
			expand(c, keys)
		}
	}
}

func (m *ModuleInstance) child(call *config.ModuleCall, key config.InstanceKey) *ModuleInstance {
	c := &ModuleInstance{Call: call, Key: key, Parent: m, Body: call.Module}
	step := config.Addr{Module: []config.ModuleStep{{Name: call.Name, Key: key}}}.ModulePath()
	c.Path = step
	if m.Path != "" {
		c.Path = m.Path + "." + step
	}
	return c
}

// StepAddr is the address of step s of m without an instance key.
func (m *ModuleInstance) StepAddr(s *config.Step) string {
	if m.Path == "" {
		return s.Addr()
	}
	return m.Path + "." + s.Addr()
}

// Walk calls f for m and every module instance below it, parents first.
func (m *ModuleInstance) Walk(f func(*ModuleInstance)) {
	f(m)
	for _, call := range m.Body.ModuleOrder {
		for _, c := range m.Children[call.Name] {
			c.Walk(f)
		}
	}
}

// Dep is one dependency of a step: step Step of module instance Mod,
// reached through Ref, a reference of the depending step (or of the module
// call it is in, for depends_on on a module).
type Dep struct {
	Mod  *ModuleInstance
	Step *config.Step
	Ref  config.StepRef
}

// StepDeps resolves what step s of module instance m depends on, across
// module boundaries: the steps it refers to; for module.NAME.OUTPUT, the
// steps that output reads inside the module; for var.NAME in a module,
// what the caller passed for it; every step of a module named in
// depends_on; and what the depends_on of each module call around m names.
// This is the one place where references become dependencies.
func StepDeps(m *ModuleInstance, s *config.Step) []Dep {
	r := &depResolver{seen: map[depKey]bool{}}
	for _, ref := range s.Refs {
		r.ref(m, ref, ref)
	}
	for _, v := range s.Vars {
		r.variable(m, v, config.StepRef{Addr: "var." + v, Range: s.VarRange(v)})
	}
	for a := m; a.Call != nil; a = a.Parent {
		for _, ref := range a.Call.Refs {
			r.ref(a.Parent, ref, ref)
		}
	}
	return r.deps
}

type depKey struct {
	m    *ModuleInstance
	kind byte // 's' step, 'v' variable, 'o' output, 'a' all of a module
	name string
}

type depResolver struct {
	seen map[depKey]bool
	deps []Dep
}

func (r *depResolver) once(m *ModuleInstance, kind byte, name string) bool {
	k := depKey{m, kind, name}
	if r.seen[k] {
		return false
	}
	r.seen[k] = true
	return true
}

// ref resolves one reference made in m; origin is the reference the
// dependency is reported under.
func (r *depResolver) ref(m *ModuleInstance, ref, origin config.StepRef) {
	name, isModule := ref.ModuleRef()
	if !isModule {
		if st := m.Body.Steps[ref.Addr]; st != nil && r.once(m, 's', ref.Addr) {
			r.deps = append(r.deps, Dep{Mod: m, Step: st, Ref: origin})
		}
		return
	}
	for _, c := range m.Children[name] {
		switch {
		case ref.DependsOn:
			r.all(c, origin)
		case ref.Attr != "":
			r.output(c, ref.Attr, origin)
		default:
			for _, out := range c.Body.Outputs {
				r.output(c, out.Name, origin)
			}
		}
	}
}

// output resolves what output name of module instance m reads.
func (r *depResolver) output(m *ModuleInstance, name string, origin config.StepRef) {
	o := m.Body.Outputs[name]
	if o == nil || !r.once(m, 'o', name) {
		return
	}
	for _, ref := range o.Refs {
		r.ref(m, ref, origin)
	}
	for _, v := range o.Vars {
		r.variable(m, v, origin)
	}
}

// variable resolves what the caller of module instance m passed for its
// variable name; root variables depend on nothing.
func (r *depResolver) variable(m *ModuleInstance, name string, origin config.StepRef) {
	if m.Call == nil || !r.once(m, 'v', name) {
		return
	}
	a := m.Call.Args[name]
	if a == nil {
		return
	}
	for _, ref := range a.Refs {
		r.ref(m.Parent, ref, origin)
	}
	for _, v := range a.Vars {
		r.variable(m.Parent, v, origin)
	}
}

// all depends on every step of module instance m and the modules inside.
func (r *depResolver) all(m *ModuleInstance, origin config.StepRef) {
	if !r.once(m, 'a', "") {
		return
	}
	for _, st := range m.Body.StepOrder {
		if r.once(m, 's', st.Addr()) {
			r.deps = append(r.deps, Dep{Mod: m, Step: st, Ref: origin})
		}
	}
	for _, call := range m.Body.ModuleOrder {
		for _, c := range m.Children[call.Name] {
			r.all(c, origin)
		}
	}
}
