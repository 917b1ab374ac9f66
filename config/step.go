package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Meta-argument names accepted by every step block.
const (
	metaDependsOn       = "depends_on"
	metaWhen            = "when"
	metaForEach         = "for_each"
	metaTimeout         = "timeout"
	metaContinueOnError = "continue_on_error"
	metaRetry           = "retry"
)

var (
	metaAttrNames  = []string{metaDependsOn, metaWhen, metaForEach, metaTimeout, metaContinueOnError}
	retryAttrNames = []string{"attempts", "delay", "backoff"}
)

// decodeStep reads one step block: meta-arguments, then the inputs of its
// schema, then the retry block.
func (l *loader) decodeStep(b *hclsyntax.Block, schema *StepSchema) {
	if !l.checkLabels(b, true, "name") {
		return
	}
	step := &Step{
		Type:      b.Type,
		Name:      b.Labels[0],
		Schema:    schema,
		DeclRange: b.DefRange(),
		Config:    b.Body,
		attrs:     make(map[string]*hcl.Attribute, len(b.Body.Attributes)),
	}
	addr := step.Addr()
	if prev, ok := l.p.Steps[addr]; ok {
		l.errorf(b.DefRange(), "Duplicate step",
			"The step %s was already declared at %s; step names must be unique per type across all files, so rename one of them.", addr, prev.DeclRange)
		return
	}
	src := &stepSource{}
	for _, a := range sortedAttrs(b.Body) {
		if l.decodeStepAttr(step, a) {
			src.attrs = append(src.attrs, a)
		}
	}
	for _, nb := range b.Body.Blocks {
		if nb.Type == metaApproval {
			if src.approval != nil {
				l.errorf(nb.DefRange(), "Duplicate approval block",
					"An approval block was already declared at %s; keep only one per step.", src.approval.DefRange())
				continue
			}
			if a := l.decodeApproval(nb); a != nil {
				step.Approval, src.approval = a, nb
			}
			continue
		}
		if nb.Type != metaRetry {
			l.errorf(nb.TypeRange, "Unsupported block type",
				"Blocks of type %q are not expected in a %s block.%s", nb.Type, step.Type, hintOrList(nb.Type, []string{metaRetry, metaApproval}, "Block types"))
			continue
		}
		if src.retry != nil {
			l.errorf(nb.DefRange(), "Duplicate retry block",
				"A retry block was already declared at %s; keep only one per step.", src.retry.DefRange())
			continue
		}
		if r := l.decodeRetry(nb); r != nil {
			step.Retry, src.retry = r, nb
		}
	}
	for _, in := range schema.Inputs {
		if in.Required {
			if _, ok := step.attrs[in.Name]; !ok {
				l.errorf(b.DefRange(), "Missing required argument",
					"The argument %q is required in a %s block; add %s = ... to %s.", in.Name, step.Type, in.Name, addr)
			}
		}
	}
	l.p.Steps[addr] = step
	l.p.StepOrder = append(l.p.StepOrder, step)
	l.stepSources[step] = src
}

// decodeStepAttr handles one attribute of a step block; it reports whether
// the attribute is valid (and so has references worth checking).
func (l *loader) decodeStepAttr(step *Step, a *hclsyntax.Attribute) bool {
	switch a.Name {
	case metaDependsOn:
		step.DependsOn = l.decodeDependsOn(a)
		return false // its traversals are checked separately
	case metaWhen:
		step.When = a.Expr
		l.checkStaticMeta(a.Expr, func(v cty.Value) hcl.Diagnostics { _, d := boolMeta(v, metaWhen, a.Expr.Range()); return d })
	case metaForEach:
		step.ForEach = a.Expr
		l.checkStaticMeta(a.Expr, func(v cty.Value) hcl.Diagnostics {
			keys, _, d := forEachInstances(v, a.Expr.Range())
			if !d.HasErrors() {
				l.staticKeys[step] = keys
			}
			return d
		})
	case metaTimeout:
		step.Timeout = a.Expr
		l.checkStaticMeta(a.Expr, func(v cty.Value) hcl.Diagnostics { _, d := durationMeta(v, metaTimeout, a.Expr.Range()); return d })
	case metaContinueOnError:
		step.ContinueOnError = a.Expr
		l.checkStaticMeta(a.Expr, func(v cty.Value) hcl.Diagnostics { _, d := boolMeta(v, metaContinueOnError, a.Expr.Range()); return d })
	default:
		in := step.Schema.Input(a.Name)
		if in == nil {
			l.unsupportedStepArgument(step, a)
			return false
		}
		step.attrs[a.Name] = a.AsHCLAttribute()
		l.checkStaticType(a, in.Type)
	}
	return true
}

// unsupportedStepArgument reports an attribute a step type does not accept.
func (l *loader) unsupportedStepArgument(step *Step, a *hclsyntax.Attribute) {
	if a.Name == metaRetry {
		l.errorf(a.NameRange, "Unsupported argument",
			"retry is a block, not an argument: write retry { attempts = 3 } without the equals sign.")
		return
	}
	if step.Schema.Output(a.Name) != nil {
		l.errorf(a.NameRange, "Unsupported argument",
			"%q is an output of %s, set after it runs; remove it here and refer to it elsewhere as %s.%s.", a.Name, step.Type, step.Addr(), a.Name)
		return
	}
	names := make([]string, 0, len(step.Schema.Inputs)+len(metaAttrNames))
	for _, in := range step.Schema.Inputs {
		names = append(names, in.Name)
	}
	names = append(names, metaAttrNames...)
	l.errorf(a.NameRange, "Unsupported argument",
		"An argument named %q is not expected in a %s block.%s", a.Name, step.Type, hintOrList(a.Name, names, "Arguments"))
}

// decodeRetry reads a retry { attempts, delay, backoff } block.
func (l *loader) decodeRetry(b *hclsyntax.Block) *Retry {
	if !l.checkLabels(b, false) {
		return nil
	}
	l.checkBody(b.Body, b.DefRange(), bodyRule{where: "a retry block", attrs: retryAttrNames})
	r := &Retry{DeclRange: b.DefRange()}
	for _, a := range sortedAttrs(b.Body) {
		rng := a.Expr.Range()
		switch a.Name {
		case "attempts":
			r.Attempts = a.Expr
			l.checkStaticMeta(a.Expr, func(v cty.Value) hcl.Diagnostics { _, d := attemptsMeta(v, rng); return d })
		case "delay":
			r.Delay = a.Expr
			l.checkStaticMeta(a.Expr, func(v cty.Value) hcl.Diagnostics { _, d := durationMeta(v, "delay", rng); return d })
		case "backoff":
			r.Backoff = a.Expr
			l.checkStaticMeta(a.Expr, func(v cty.Value) hcl.Diagnostics { _, d := backoffMeta(v, rng); return d })
		}
	}
	return r
}

// decodeDependsOn reads depends_on = [type.name, ...] as traversals; the
// reference pass checks that they name declared steps.
func (l *loader) decodeDependsOn(a *hclsyntax.Attribute) []hcl.Traversal {
	exprs, diags := hcl.ExprList(a.Expr)
	if diags.HasErrors() {
		l.errorf(a.Expr.Range(), "Invalid depends_on",
			"depends_on must be a list of step references, such as [docker_run.unit_tests].")
		return nil
	}
	var out []hcl.Traversal
	for _, e := range exprs {
		t, tdiags := hcl.AbsTraversalForExpr(e)
		if tdiags.HasErrors() {
			l.errorf(e.Range(), "Invalid depends_on reference", "%s", dependsOnHint(e))
			continue
		}
		out = append(out, t)
	}
	return out
}

// dependsOnHint explains how to fix a depends_on entry that is not a plain
// reference, quoting the intended reference when it was written as a string.
func dependsOnHint(e hcl.Expression) string {
	if v, diags := e.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
		s := v.AsString()
		if _, d := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos); !d.HasErrors() && strings.Contains(s, ".") {
			return fmt.Sprintf("Each depends_on entry is a step reference, not a string: write %s without quotes.", s)
		}
	}
	return "Each depends_on entry must be a step reference such as docker_run.unit_tests, without quotes or expressions."
}

// isStatic reports whether expr has no references and no function calls, so
// that it can be evaluated while loading.
func isStatic(expr hclsyntax.Expression) bool {
	if len(expr.Variables()) > 0 {
		return false
	}
	calls := false
	hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		if _, ok := n.(*hclsyntax.FunctionCallExpr); ok {
			calls = true
		}
		return nil
	})
	return !calls
}

// checkStaticMeta evaluates a constant meta-argument while loading and runs
// check on it, so that `ansflow validate` reports bad literals.
func (l *loader) checkStaticMeta(expr hclsyntax.Expression, check func(cty.Value) hcl.Diagnostics) {
	if !isStatic(expr) {
		return
	}
	v, diags := expr.Value(nil)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return
	}
	l.diags = append(l.diags, check(v)...)
}

// checkStaticType type-checks a constant input value while loading.
func (l *loader) checkStaticType(a *hclsyntax.Attribute, ty cty.Type) {
	if !isStatic(a.Expr) {
		return
	}
	v, diags := a.Expr.Value(nil)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return
	}
	if _, err := convert.Convert(v, ty); err != nil {
		l.diags = append(l.diags, typeMismatch(a.Name, ty, err, a.Expr.Range()))
	}
}

// typeMismatch is the diagnostic for a value that does not convert to the
// type of the argument called name.
func typeMismatch(name string, ty cty.Type, err error, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Incorrect attribute value type",
		Detail:   fmt.Sprintf("Inappropriate value for argument %q: %s.", name, convertErrorText(err)),
		Subject:  rng.Ptr(),
	}
}

// typeDescription names a type for users: "a string", "a list of string".
func typeDescription(ty cty.Type) string {
	switch {
	case ty == cty.DynamicPseudoType:
		return "any value"
	case ty.IsPrimitiveType():
		return "a " + ty.FriendlyNameForConstraint()
	}
	return ty.FriendlyNameForConstraint()
}
