package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
)

// pathObject is the path object of pipeline or module p: path.root (the
// root pipeline's absolute directory), path.module (the module's
// directory relative to it, "." at the root) and path.cwd.
func pathObject(p *Pipeline, cwd string) cty.Value {
	mod := p.Path
	if mod == "" {
		mod = "."
	}
	return cty.ObjectVal(map[string]cty.Value{
		"root": cty.StringVal(p.Dir), "module": cty.StringVal(mod), "cwd": cty.StringVal(cwd),
	})
}

// moduleChain is the module path of instance key of call made from the
// module at path parent.
func moduleChain(parent, name string, key InstanceKey) string {
	step := Addr{Module: []ModuleStep{{Name: name, Key: key}}}.ModulePath()
	if parent == "" {
		return step
	}
	return parent + "." + step
}

// ModulePath is the module path of s ("" at the root), as addresses show it.
func (s *Scope) ModulePath() string { return s.chain }

// InModule adds to diags the module of s and where it was called (see
// InModule); at the root it changes nothing.
func (s *Scope) InModule(diags hcl.Diagnostics) hcl.Diagnostics {
	return InModule(diags, s.chain, s.call)
}

// Pipeline is the pipeline or module whose expressions s evaluates.
func (s *Scope) Pipeline() *Pipeline { return s.p }

// Enabled reports whether the steps of s run: false inside a module call
// (or a call around it) whose when is false.
func (s *Scope) Enabled() bool { return !s.disabled }

// ModuleForEach evaluates the for_each of a module call made from s: its
// sorted instance keys and each.value by key. Keys and diagnostics are nil
// for a call without for_each. Results are cached.
func (s *Scope) ModuleForEach(call *ModuleCall) ([]string, map[string]cty.Value, hcl.Diagnostics) {
	return s.evalForEach(call, call.ForEach)
}

// Module returns the scope of instance key of a module call made from s.
// The module's variables hold the call's arguments, evaluated in s with
// the given values of the caller's steps and module calls (those missing
// or cty.NilVal are unknown), converted, validated and marked like root
// variables; its locals are evaluated in the new scope. Functions,
// built-in values and connection blocks are the root's; path.module is the
// module's directory. NoKey for a call with for_each evaluates one
// instance with each.key and each.value unknown (for validate).
func (s *Scope) Module(call *ModuleCall, key InstanceKey, steps StepValues) (*Scope, hcl.Diagnostics) {
	if call.Module == nil {
		panic("config: Scope.Module of a module call that failed to load")
	}
	ctx, diags := s.moduleCallContext(call, key, steps)
	child := &Scope{
		p: call.Module, funcs: s.funcs, registries: s.registries, clusters: s.clusters, docker: s.docker,
		validate: s.validate, disabled: s.disabled, forEach: map[any]*forEachResult{},
		chain: moduleChain(s.chain, call.Name, key), call: call.DeclRange,
	}
	vars, d := moduleVariables(call, ctx, s)
	diags = append(diags, d...)
	child.base = make(map[string]cty.Value, len(s.base))
	for k, v := range s.base {
		child.base[k] = v
	}
	child.base[rootVar] = objectOrEmpty(vars)
	child.base[rootPath] = pathObject(call.Module, s.base[rootPath].GetAttr("cwd").AsString())
	locals, d := child.evalLocals()
	diags = append(diags, d...)
	child.base[rootLocal] = objectOrEmpty(locals)
	if call.When != nil && !child.disabled {
		v, d := call.When.Value(ctx)
		diags = append(diags, d...)
		if !d.HasErrors() && !(s.validate && !v.IsWhollyKnown()) {
			when, d := boolMeta(v, metaWhen, call.When.Range())
			diags = append(diags, d...)
			child.disabled = !d.HasErrors() && !when
		}
	}
	return child, diags
}

// moduleCallContext is the context a module call's arguments are evaluated
// in: the caller's, with the steps the arguments refer to and each.
func (s *Scope) moduleCallContext(call *ModuleCall, key InstanceKey, steps StepValues) (*hcl.EvalContext, hcl.Diagnostics) {
	byType := map[string]map[string]cty.Value{}
	for _, a := range call.Args {
		for _, r := range a.Refs {
			typ, name, _ := strings.Cut(r.Addr, ".")
			v := steps[typ][name]
			if v == cty.NilVal {
				v = cty.DynamicVal
			}
			if byType[typ] == nil {
				byType[typ] = map[string]cty.Value{}
			}
			byType[typ][name] = v
		}
	}
	extra := make(map[string]cty.Value, len(byType)+1)
	for typ, byName := range byType {
		extra[typ] = cty.ObjectVal(byName)
	}
	var diags hcl.Diagnostics
	switch {
	case key.Valid:
		_, values, d := s.ModuleForEach(call)
		diags = append(diags, d...)
		val, ok := values[key.Key]
		if !ok && !d.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid instance key",
				Detail:  fmt.Sprintf("The for_each of module.%s has no key %q; use one of its keys.", call.Name, key.Key),
				Subject: call.DeclRange.Ptr(),
			})
		}
		if !ok {
			val = cty.DynamicVal
		}
		extra[rootEach] = cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(key.Key), "value": val})
	case call.ForEach != nil:
		extra[rootEach] = cty.ObjectVal(map[string]cty.Value{"key": cty.UnknownVal(cty.String), "value": cty.DynamicVal})
	}
	return s.context(extra), diags
}

// moduleVariables are the values of the variables of the module call
// evaluates: its arguments, else the defaults.
func moduleVariables(call *ModuleCall, ctx *hcl.EvalContext, s *Scope) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vars := make(map[string]cty.Value, len(call.Module.Variables))
	for _, name := range sortedKeys(call.Module.Variables) {
		v := call.Module.Variables[name]
		unknown := cty.UnknownVal(v.Type.WithoutOptionalAttributesDeep())
		a := call.Args[name]
		if a == nil {
			if !v.HasDefault {
				vars[name] = unknown // reported by Load
				continue
			}
			val, d := finishVariable(v, varValue{val: v.Default, source: "its default"}, s.funcs)
			diags = append(diags, d...)
			vars[name] = val
			continue
		}
		val, d := a.Expr.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			vars[name] = unknown
			continue
		}
		if val.IsKnown() && val.IsNull() && v.HasDefault {
			val = v.Default
		}
		cv, err := convertVariable(v, val)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for module variable",
				Detail: fmt.Sprintf("The value for variable %q of module.%s is not valid: %s; give a value of type %s.",
					name, call.Name, convertErrorText(err), typeexpr.TypeString(v.Type)),
				Subject: a.Expr.Range().Ptr(),
			})
			vars[name] = unknown
			continue
		}
		rng := a.Expr.Range()
		val, d = finishVariable(v, varValue{val: cv, source: "the module." + call.Name + " block", rng: &rng}, s.funcs)
		diags = append(diags, d...)
		vars[name] = val
	}
	return vars, diags
}

// checkModules evaluates, for Check, every module called from s with
// unknown step values.
func (s *Scope) checkModules(steps StepValues) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, call := range s.p.ModuleOrder {
		if call.Module == nil {
			continue
		}
		if call.ForEach != nil {
			v, d := call.ForEach.Value(s.context(nil))
			if !d.HasErrors() && v.IsWhollyKnown() {
				_, _, d = s.ModuleForEach(call)
			} else if !d.HasErrors() {
				d = forEachType(v.Type(), call.ForEach.Range())
			}
			if d.HasErrors() {
				diags = append(diags, d...)
				continue
			}
		}
		child, d := s.Module(call, NoKey, steps)
		diags = append(diags, s.InModule(d)...)
		if d.HasErrors() {
			continue
		}
		diags = append(diags, child.checkPipeline()...)
	}
	return diags
}
