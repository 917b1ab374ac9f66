package config

import (
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// outsideFunctions read something outside the configuration: the
// environment or files. A call to one is a reference of its own.
var outsideFunctions = map[string]bool{
	envFunctionName: true, "file": true, "fileexists": true, "filesha256": true,
	"filebase64": true, "templatefile": true,
}

// WhenAttr is the name InputReferences gives the `when` meta-argument.
const WhenAttr = "when"

// InputReferences returns, for every input attribute set on an instance of
// step (and for `when`, as WhenAttr), the values it reads, by the name a
// user would write: `var.x`, `local.y`, `git.branch`, `run.number`,
// `each.value`, `docker_build.app.ref`, `env("X")`, `file("a.txt")`.
// References that cannot be evaluated are left out; values may be unknown
// and may carry the Sensitive mark.
func (s *Scope) InputReferences(step *Step, key InstanceKey, steps StepValues) map[string]map[string]cty.Value {
	attrs, _ := inputAttrs(step)
	ctx, diags := s.stepContext(step, key, steps)
	if diags.HasErrors() {
		return nil
	}
	out := make(map[string]map[string]cty.Value, len(attrs)+1)
	add := func(name string, expr hcl.Expression) {
		if expr == nil {
			return
		}
		if refs := expressionReferences(expr, ctx); len(refs) > 0 {
			out[name] = refs
		}
	}
	for name, a := range attrs {
		if step.Schema.Input(name) != nil {
			add(name, a.Expr)
		}
	}
	add(WhenAttr, step.When)
	return out
}

// expressionReferences evaluates the references and outside function calls
// of expr in ctx.
func expressionReferences(expr hcl.Expression, ctx *hcl.EvalContext) map[string]cty.Value {
	out := map[string]cty.Value{}
	for _, t := range expr.Variables() {
		v, diags := t.TraverseAbs(ctx)
		if diags.HasErrors() {
			continue
		}
		out[TraversalString(t)] = v
	}
	se, ok := expr.(hclsyntax.Expression)
	if !ok {
		return out
	}
	hclsyntax.VisitAll(se, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok || !outsideFunctions[call.Name] {
			return nil
		}
		v, diags := call.Value(ctx)
		if diags.HasErrors() {
			return nil
		}
		out[callString(call, ctx)] = v
		return nil
	})
	return out
}

// TraversalString renders a traversal as it is written: a.b["k"][0].
func TraversalString(t hcl.Traversal) string {
	var b strings.Builder
	for _, tr := range t {
		switch x := tr.(type) {
		case hcl.TraverseRoot:
			b.WriteString(x.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + x.Name)
		case hcl.TraverseIndex:
			b.WriteString("[" + keyString(x.Key) + "]")
		default:
			return b.String()
		}
	}
	return b.String()
}

func keyString(k cty.Value) string {
	if !k.IsKnown() || k.IsNull() {
		return "…"
	}
	switch k.Type() {
	case cty.String:
		return strconv.Quote(k.AsString())
	case cty.Number:
		return k.AsBigFloat().Text('f', -1)
	}
	return "…"
}

// callString renders a call with its arguments where they are known
// strings or numbers: env("TARGET"), file("config.json").
func callString(call *hclsyntax.FunctionCallExpr, ctx *hcl.EvalContext) string {
	args := make([]string, 0, len(call.Args))
	for _, a := range call.Args {
		v, diags := a.Value(ctx)
		if diags.HasErrors() {
			args = append(args, "…")
			continue
		}
		if v.ContainsMarked() {
			args = append(args, "(sensitive value)")
			continue
		}
		args = append(args, keyString(v))
	}
	return call.Name + "(" + strings.Join(args, ", ") + ")"
}
