package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// evalLocals evaluates every local value, each after the locals it refers
// to. A local that fails, or is part of a cycle, becomes cty.DynamicVal so
// that one mistake is reported once.
func (s *Scope) evalLocals() (map[string]cty.Value, hcl.Diagnostics) {
	e := &localsEval{s: s, done: map[string]cty.Value{}, visiting: map[string]bool{}}
	for _, name := range sortedKeys(s.p.Locals) {
		e.eval(name, nil)
	}
	return e.done, e.diags
}

type localsEval struct {
	s        *Scope
	done     map[string]cty.Value
	visiting map[string]bool
	diags    hcl.Diagnostics
}

// eval evaluates local name; path is the chain of locals being evaluated,
// for the cycle message.
func (e *localsEval) eval(name string, path []string) cty.Value {
	if v, ok := e.done[name]; ok {
		return v
	}
	l, ok := e.s.p.Locals[name]
	if !ok {
		return cty.DynamicVal // reported by Load
	}
	if e.visiting[name] {
		e.diags = append(e.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cycle in local values",
			Detail:   fmt.Sprintf("The local values refer to each other in a loop (%s); break the loop by computing one of them from other values.", strings.Join(append(path, name), " -> ")),
			Subject:  l.Expr.Range().Ptr(),
		})
		e.done[name] = cty.DynamicVal
		return cty.DynamicVal
	}
	e.visiting[name] = true
	deps := map[string]cty.Value{}
	for _, t := range l.Expr.Variables() {
		if t.RootName() != rootLocal || len(t) < 2 {
			continue
		}
		if a, ok := t[1].(hcl.TraverseAttr); ok {
			deps[a.Name] = e.eval(a.Name, append(path, name))
		}
	}
	delete(e.visiting, name)
	if v, ok := e.done[name]; ok { // set by a cycle report
		return v
	}
	ctx := e.s.context(map[string]cty.Value{rootLocal: objectOrEmpty(deps)})
	v, diags := l.Expr.Value(ctx)
	e.diags = append(e.diags, diags...)
	if diags.HasErrors() {
		v = cty.DynamicVal
	}
	e.done[name] = v
	return v
}
