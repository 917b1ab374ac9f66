package config

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// metaApproval is the approval { approvers, timeout } block of a step: the
// apply stops before the step until someone runs `ansflow approve ADDR`.
const metaApproval = "approval"

var approvalAttrNames = []string{"approvers", "timeout"}

// Approval is an approval { approvers = [...]  timeout = "24h" } block.
type Approval struct {
	Approvers hcl.Expression // list of user names; nil: anyone may approve
	Timeout   hcl.Expression // duration; nil: the request never expires
	DeclRange hcl.Range
}

// ApprovalPolicy is an evaluated approval block.
type ApprovalPolicy struct {
	Approvers []string      // empty: anyone may approve
	Timeout   time.Duration // 0: the request never expires
}

// approvalRefs is the reference context of approval arguments: they must
// be known before apply, so they cannot refer to steps.
var approvalRefs = refContext{where: "an approval block", stepSumm: "Invalid approval argument",
	stepDetail: "The approvers and timeout of an approval must be known before apply; use variables, locals or literals, not step results."}

// decodeApproval reads an approval block.
func (l *loader) decodeApproval(b *hclsyntax.Block) *Approval {
	if !l.checkLabels(b, false) {
		return nil
	}
	l.checkBody(b.Body, b.DefRange(), bodyRule{where: "an approval block", attrs: approvalAttrNames})
	a := &Approval{DeclRange: b.DefRange()}
	for _, attr := range sortedAttrs(b.Body) {
		rng := attr.Expr.Range()
		switch attr.Name {
		case "approvers":
			a.Approvers = attr.Expr
			l.checkStaticMeta(attr.Expr, func(v cty.Value) hcl.Diagnostics { _, d := approversMeta(v, rng); return d })
		case "timeout":
			a.Timeout = attr.Expr
			l.checkStaticMeta(attr.Expr, func(v cty.Value) hcl.Diagnostics { _, d := durationMeta(v, "approval timeout", rng); return d })
		}
	}
	return a
}

// approversMeta checks approvers: a list of non-empty user names.
func approversMeta(v cty.Value, rng hcl.Range) ([]string, hcl.Diagnostics) {
	v, diags := knownMeta(v, "approvers", rng)
	if diags.HasErrors() {
		return nil, diags
	}
	list, err := convert.Convert(v, cty.List(cty.String))
	if err != nil {
		return nil, metaError("Invalid approvers",
			fmt.Sprintf("approvers must be a list of user names such as [\"alice\", \"bob\"], but it is %s.", typeDescription(v.Type())), rng)
	}
	var out []string
	for it := list.ElementIterator(); it.Next(); {
		_, el := it.Element()
		if el.IsNull() || el.AsString() == "" {
			return nil, metaError("Invalid approvers", "approvers must not contain empty names or null; remove them.", rng)
		}
		out = append(out, el.AsString())
	}
	return out, nil
}

// evalApproval evaluates a step's approval block; nil when it has none.
func evalApproval(a *Approval, ctx *hcl.EvalContext) (*ApprovalPolicy, hcl.Diagnostics) {
	if a == nil {
		return nil, nil
	}
	p := &ApprovalPolicy{}
	var diags hcl.Diagnostics
	if a.Approvers != nil {
		v, d := a.Approvers.Value(ctx)
		diags = append(diags, d...)
		if !d.HasErrors() {
			p.Approvers, d = approversMeta(v, a.Approvers.Range())
			diags = append(diags, d...)
		}
	}
	if a.Timeout != nil {
		v, d := a.Timeout.Value(ctx)
		diags = append(diags, d...)
		if !d.HasErrors() {
			p.Timeout, d = durationMeta(v, "approval timeout", a.Timeout.Range())
			diags = append(diags, d...)
		}
	}
	return p, diags
}
