package config

import (
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// RedactedText replaces a sensitive value in messages.
const RedactedText = "(sensitive value)"

// MinSecretLength is the shortest sensitive string that is redacted from
// logs and messages: shorter ones would blank out ordinary text, so a
// shorter sensitive variable value gets a warning instead.
const MinSecretLength = 3

// SensitiveStrings returns every sensitive string that evaluating expr in
// ctx produces: the values of the variables it refers to and the results
// of each of its sub-expressions (lower(var.pw), substr(...), the parts of
// a template), so that a value derived from a secret is hidden wherever it
// appears, not only the whole result. Numbers and bools count by their
// text. Strings shorter than MinSecretLength are left out.
func SensitiveStrings(expr hcl.Expression, ctx *hcl.EvalContext) []string {
	return sensitiveParts(expr, ctx, true)
}

// sensitiveParts is SensitiveStrings, without the value of expr itself
// unless whole is set.
func sensitiveParts(expr hcl.Expression, ctx *hcl.EvalContext, whole bool) []string {
	if expr == nil || ctx == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(v cty.Value) {
		for _, s := range sensitiveLeaves(v) {
			if len(s) >= MinSecretLength && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	for _, tr := range expr.Variables() {
		if v, diags := tr.TraverseAbs(ctx); !diags.HasErrors() {
			add(v)
		}
	}
	if syn, ok := expr.(hclsyntax.Expression); ok {
		_ = hclsyntax.VisitAll(syn, func(n hclsyntax.Node) hcl.Diagnostics {
			if e, ok := n.(hclsyntax.Expression); ok && e != syn {
				v, _ := e.Value(ctx)
				add(v)
			}
			return nil
		})
	}
	if whole {
		v, _ := expr.Value(ctx)
		add(v)
	}
	return out
}

// sensitiveLeaves returns the text of the strings, numbers and bools in v
// that are sensitive themselves or inside a sensitive value.
func sensitiveLeaves(v cty.Value) []string {
	if v == cty.NilVal || !HasSensitive(v) {
		return nil
	}
	var out []string
	var walk func(v cty.Value, under bool)
	walk = func(v cty.Value, under bool) {
		v, marks := v.Unmark()
		if _, ok := marks[Sensitive]; ok {
			under = true
		}
		if !v.IsKnown() || v.IsNull() {
			return
		}
		t := v.Type()
		switch {
		case t == cty.String:
			if under {
				out = append(out, v.AsString())
			}
		case t == cty.Number:
			if under {
				out = append(out, v.AsBigFloat().Text('f', -1))
			}
		case t == cty.Bool:
		case t.IsObjectType() || t.IsMapType() || t.IsListType() || t.IsTupleType() || t.IsSetType():
			for it := v.ElementIterator(); it.Next(); {
				_, ev := it.Element()
				walk(ev, under)
			}
		}
	}
	walk(v, false)
	return out
}

// RedactDiagnostics returns diags with every sensitive string that a
// diagnostic's expression refers to or computes replaced by "(sensitive
// value)" in its summary and detail, as it is and as Go or JSON would
// quote it. A function error that quotes its argument (tonumber(var.pw),
// file(var.pw)) so shows no secret. Diagnostics without an expression are
// returned as they are; diags itself is not changed.
func RedactDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for i, d := range diags {
		secrets := SensitiveStrings(d.Expression, d.EvalContext)
		if len(secrets) == 0 {
			if out != nil {
				out = append(out, d)
			}
			continue
		}
		if out == nil {
			out = append(make(hcl.Diagnostics, 0, len(diags)), diags[:i]...)
		}
		c := *d
		c.Summary = redactText(c.Summary, secrets)
		c.Detail = redactText(c.Detail, secrets)
		out = append(out, &c)
	}
	if out == nil {
		return diags
	}
	return out
}

// redactText replaces each secret in s, longest first, in its plain and
// its quoted-inside forms.
func redactText(s string, secrets []string) string {
	var pairs []string
	for _, sec := range longestFirst(secrets) {
		q := strconv.Quote(sec)
		pairs = append(pairs, sec, RedactedText)
		if inner := q[1 : len(q)-1]; inner != sec {
			pairs = append(pairs, inner, RedactedText)
		}
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

func longestFirst(ss []string) []string {
	out := append([]string(nil), ss...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
