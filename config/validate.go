package config

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
)

// Check evaluates everything `validate` can know without a state or the
// environment: every step (each for_each instance when the keys are known,
// else one instance with unknown keys) with unknown step values, the
// meta-arguments and the outputs. vars are resolved variable values; a
// declared variable missing from vars is unknown of its type. env(), git,
// run and workspace are unknown. Unknown values are checked by type only.
func Check(p *Pipeline, vars map[string]cty.Value) hcl.Diagnostics {
	s, diags := NewScope(p, ScopeOptions{Vars: vars, validate: true})
	if diags.HasErrors() {
		return diags
	}
	return append(diags, s.checkPipeline()...)
}

// checkPipeline is Check of the pipeline or module of s and the modules it
// calls.
func (s *Scope) checkPipeline() hcl.Diagnostics {
	var diags hcl.Diagnostics
	steps := StepValues{}
	for _, st := range s.p.StepOrder {
		if steps[st.Type] == nil {
			steps[st.Type] = map[string]cty.Value{}
		}
		steps[st.Type][st.Name] = cty.DynamicVal
	}
	for _, call := range s.p.ModuleOrder {
		if steps[rootModule] == nil {
			steps[rootModule] = map[string]cty.Value{}
		}
		steps[rootModule][call.Name] = cty.DynamicVal
	}
	for _, st := range s.p.StepOrder {
		diags = append(diags, s.checkStep(st, steps)...)
	}
	_, d := s.EvalOutputs(steps)
	diags = s.InModule(append(diags, d...))
	return append(diags, s.checkModules(steps)...)
}

// checkStep evaluates one step for Check.
func (s *Scope) checkStep(st *Step, steps StepValues) hcl.Diagnostics {
	var diags hcl.Diagnostics
	keys := []InstanceKey{NoKey}
	var eachValues []cty.Value
	var eachTypes []cty.Type
	if st.ForEach != nil {
		v, d := st.ForEach.Value(s.context(nil))
		if d.HasErrors() {
			return d
		}
		if v.IsWhollyKnown() {
			ks, values, d := s.ForEach(st)
			if d.HasErrors() {
				return d
			}
			keys = keys[:0]
			for _, k := range ks {
				keys = append(keys, StringKey(k))
				eachValues = append(eachValues, values[k])
				eachTypes = append(eachTypes, values[k].Type())
			}
		} else {
			if d := forEachType(v.Type(), st.ForEach.Range()); d.HasErrors() {
				return d
			}
			keys = []InstanceKey{{Valid: true}}
			eachTypes = []cty.Type{forEachElem(v.Type())}
		}
	}
	var all hcl.Diagnostics
	for _, k := range keys {
		var inputs cty.Value
		var d hcl.Diagnostics
		if k.Valid && k.Key == "" && eachValues == nil {
			inputs, d = s.evalUnknownInstance(st, steps)
		} else {
			inputs, _, d = s.EvalStep(st, k, steps)
		}
		all = append(all, d...)
		if !d.HasErrors() {
			all = append(all, checkInputs(st, inputs)...)
		}
	}
	diags = append(diags, eachValueHints(st, eachTypes, uniqueDiags(all))...)
	return diags
}

// evalUnknownInstance evaluates a for_each step whose keys are not known
// yet, with each.key and each.value unknown.
func (s *Scope) evalUnknownInstance(st *Step, steps StepValues) (cty.Value, hcl.Diagnostics) {
	v, _ := st.ForEach.Value(s.context(nil))
	elem := forEachElem(v.Type())
	extra := referencedStepRoots(st, steps)
	extra[rootEach] = cty.ObjectVal(map[string]cty.Value{"key": cty.UnknownVal(cty.String), "value": cty.UnknownVal(elem)})
	ctx := s.context(extra)
	inputs, diags := evalInputs(st, ctx)
	_, d := evalMeta(st, ctx, s.validate, s.p.Schemas)
	return inputs, append(diags, d...)
}

// forEachElem is the type of each.value for a for_each of type ty.
func forEachElem(ty cty.Type) cty.Type {
	if ty.IsMapType() || ty.IsSetType() {
		return ty.ElementType()
	}
	return cty.DynamicPseudoType
}

// forEachType checks the type of a for_each value that is not known yet.
func forEachType(ty cty.Type, rng hcl.Range) hcl.Diagnostics {
	const summary = "Invalid for_each argument"
	switch {
	case ty.IsListType() || ty.IsTupleType():
		return metaError(summary, "for_each needs a map or a set of strings, but this is a list; wrap it in toset(...) to use its elements as keys.", rng)
	case ty.IsSetType() && !ty.ElementType().Equals(cty.String) && ty.ElementType() != cty.DynamicPseudoType:
		return metaError(summary, fmt.Sprintf("for_each needs a set of strings, but this is a set of %s; convert the elements with tostring().", ty.ElementType().FriendlyName()), rng)
	case ty.IsMapType() || ty.IsObjectType() || ty.IsSetType() || ty == cty.DynamicPseudoType:
		return nil
	}
	return metaError(summary, fmt.Sprintf("for_each needs a map or a set of strings such as toset([\"a\", \"b\"]), but this is %s.", typeDescription(ty)), rng)
}

// checkInputs checks known input values that types cannot: an empty
// command, and sources patterns that are not valid globs.
func checkInputs(st *Step, inputs cty.Value) hcl.Diagnostics {
	attrs, _ := inputAttrs(st)
	var diags hcl.Diagnostics
	if in := st.Schema.Input("command"); in != nil && in.Required && attrs["command"] != nil {
		v, _ := inputs.GetAttr("command").UnmarkDeep()
		if v.IsKnown() && !v.IsNull() && v.LengthInt() == 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty command",
				Detail:  fmt.Sprintf("The command of %s is an empty list; give the program and its arguments, e.g. [\"make\", \"test\"].", st.Addr()),
				Subject: attrs["command"].Expr.Range().Ptr()})
		}
	}
	if st.Schema.Input("sources") != nil && attrs["sources"] != nil {
		diags = append(diags, checkGlobs(attrs["sources"].Expr, inputs.GetAttr("sources"))...)
	}
	return diags
}

// checkGlobs reports sources patterns that filepath.Glob cannot read,
// pointing at the element when the list is written out.
func checkGlobs(expr hcl.Expression, v cty.Value) hcl.Diagnostics {
	v, _ = v.UnmarkDeep()
	if !v.IsKnown() || v.IsNull() {
		return nil
	}
	var elems []hclsyntax.Expression
	if tuple, ok := expr.(*hclsyntax.TupleConsExpr); ok && len(tuple.Exprs) == v.LengthInt() {
		elems = tuple.Exprs
	}
	var diags hcl.Diagnostics
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		_, el := it.Element()
		if !el.IsKnown() || el.IsNull() {
			continue
		}
		pat := el.AsString()
		if _, err := filepath.Match(pat, ""); err == nil {
			continue
		}
		rng := expr.Range()
		if elems != nil {
			rng = elems[i].Range()
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid sources pattern",
			Detail:  fmt.Sprintf("%q is not a valid glob pattern (an unclosed [ or a trailing \\?); write a path, or a pattern such as \"src/*.go\".", pat),
			Subject: rng.Ptr()})
	}
	return diags
}

// eachValueHints adds a did-you-mean to "Unsupported attribute" errors on
// each.value.NAME when the for_each values are objects.
func eachValueHints(st *Step, types []cty.Type, diags hcl.Diagnostics) hcl.Diagnostics {
	names := map[string]bool{}
	for _, ty := range types {
		if ty.IsObjectType() {
			for n := range ty.AttributeTypes() {
				names[n] = true
			}
		}
	}
	if len(names) == 0 {
		return diags
	}
	candidates := make([]string, 0, len(names))
	for n := range names {
		candidates = append(candidates, n)
	}
	sort.Strings(candidates)
	attrs, _ := inputAttrs(st)
	exprs := []hcl.Expression{st.When, st.Timeout, st.ContinueOnError}
	for _, a := range attrs {
		exprs = append(exprs, a.Expr)
	}
	for _, expr := range exprs {
		if expr == nil {
			continue
		}
		for _, t := range expr.Variables() {
			name, rng, ok := attrName(t, 2)
			if v, _, _ := attrName(t, 1); t.RootName() != rootEach || v != "value" || !ok || names[name] {
				continue
			}
			for _, d := range diags {
				if d.Summary == "Unsupported attribute" && d.Subject != nil && d.Subject.Overlaps(rng) {
					d.Detail = fmt.Sprintf("The for_each values of %s have no attribute %q.%s", st.Addr(), name, hintOrList(name, candidates, "Their attributes"))
				}
			}
		}
	}
	return diags
}

// uniqueDiags drops repeats of a diagnostic (one per instance).
func uniqueDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	var out hcl.Diagnostics
	for _, d := range diags {
		key := d.Summary + "\x00" + d.Detail
		if d.Subject != nil {
			key += "\x00" + d.Subject.String()
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, d)
		}
	}
	return out
}

// unknownEnvFunc is env() for Check: a string known only at plan.
var unknownEnvFunc = function.New(&function.Spec{
	Params:   []function.Parameter{{Name: "name", Type: cty.String}},
	VarParam: &function.Parameter{Name: "default", Type: cty.String},
	Type:     function.StaticReturnType(cty.String),
	Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
		return cty.UnknownVal(cty.String), nil
	},
})

// unknownMeta checks, for Check, a meta-argument value that is not known
// yet: its type must fit, and it must not come from a step.
func unknownMeta(v cty.Value, want cty.Type, name string, expr hcl.Expression, schemas Schemas) hcl.Diagnostics {
	for _, t := range expr.Variables() {
		if schemas.Lookup(t.RootName()) != nil {
			_, diags := knownMeta(cty.UnknownVal(want), name, expr.Range())
			return diags
		}
	}
	if _, err := convert.Convert(cty.UnknownVal(v.Type()), want); err != nil && v.Type() != cty.DynamicPseudoType {
		return metaError(fmt.Sprintf("Invalid %s argument", name),
			fmt.Sprintf("The %s value must be %s, but it is %s.", name, typeDescription(want), typeDescription(v.Type())), expr.Range())
	}
	return nil
}
