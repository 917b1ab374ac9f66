package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var (
	variableAttrs   = []string{"type", "default", "description", "sensitive", "nullable"}
	validationAttrs = []string{"condition", "error_message"}
	outputAttrs     = []string{"value", "description", "sensitive"}
)

// decodeVariable reads a variable "name" { type, default, ... } block.
func (l *loader) decodeVariable(b *hclsyntax.Block) {
	if !l.checkLabels(b, true, "name") {
		return
	}
	name := b.Labels[0]
	if prev, ok := l.p.Variables[name]; ok {
		l.errorf(b.DefRange(), "Duplicate variable",
			"A variable named %q was already declared at %s; rename or remove one of them.", name, prev.DeclRange)
		return
	}
	l.checkBody(b.Body, b.DefRange(), bodyRule{where: "a variable block", attrs: variableAttrs, blocks: []string{"validation"}})
	v := &Variable{Name: name, Type: cty.DynamicPseudoType, DeclRange: b.DefRange()}
	attrs := b.Body.Attributes
	if a, ok := attrs["type"]; ok {
		ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(a.Expr)
		l.diags = append(l.diags, diags...)
		if !diags.HasErrors() {
			v.Type, v.typeDefaults = ty, defaults
		}
	}
	if a, ok := attrs["description"]; ok {
		v.Description, _ = l.staticString(a)
	}
	if a, ok := attrs["sensitive"]; ok {
		v.Sensitive, _ = l.staticBool(a)
	}
	if a, ok := attrs["nullable"]; ok {
		l.staticBool(a)
	}
	if a, ok := attrs["default"]; ok {
		if val, ok := l.constValue(a.Expr, "variable default"); ok {
			conv, err := convertVariable(v, val)
			if err != nil {
				l.errorf(a.Expr.Range(), "Invalid default value for variable",
					"The default value of variable %q does not match its type %s: %s; change the default or the type.", name, typeexpr.TypeString(v.Type), convertErrorText(err))
			} else {
				v.Default, v.HasDefault = conv, true
			}
		}
	}
	for _, vb := range b.Body.Blocks {
		if vb.Type != "validation" || !l.checkLabels(vb, false) {
			continue
		}
		l.checkBody(vb.Body, vb.DefRange(), bodyRule{where: "a validation block", attrs: validationAttrs, required: validationAttrs})
		cond, okC := vb.Body.Attributes["condition"]
		msg, okM := vb.Body.Attributes["error_message"]
		if okC && okM {
			v.Validations = append(v.Validations, &Validation{Condition: cond.Expr, ErrorMessage: msg.Expr, DeclRange: vb.DefRange()})
		}
	}
	l.p.Variables[name] = v
	l.varOrder = append(l.varOrder, v)
}

// convertVariable applies optional-attribute defaults and converts val to
// the declared type of v.
func convertVariable(v *Variable, val cty.Value) (cty.Value, error) {
	if v.typeDefaults != nil {
		val = v.typeDefaults.Apply(val)
	}
	return convert.Convert(val, v.Type)
}

// decodeOutput reads an output "name" { value, description, sensitive } block.
func (l *loader) decodeOutput(b *hclsyntax.Block) {
	if !l.checkLabels(b, true, "name") {
		return
	}
	name := b.Labels[0]
	if prev, ok := l.p.Outputs[name]; ok {
		l.errorf(b.DefRange(), "Duplicate output",
			"An output named %q was already declared at %s; rename or remove one of them.", name, prev.DeclRange)
		return
	}
	l.checkBody(b.Body, b.DefRange(), bodyRule{where: "an output block", attrs: outputAttrs, required: []string{"value"}})
	o := &Output{Name: name, DeclRange: b.DefRange()}
	attrs := b.Body.Attributes
	if a, ok := attrs["value"]; ok {
		o.Expr = a.Expr
	}
	if a, ok := attrs["description"]; ok {
		o.Description, _ = l.staticString(a)
	}
	if a, ok := attrs["sensitive"]; ok {
		o.Sensitive, _ = l.staticBool(a)
	}
	l.p.Outputs[name] = o
	l.outputs = append(l.outputs, b)
}

// constValue evaluates an expression that must be constant: no references
// and no function calls.
func (l *loader) constValue(expr hclsyntax.Expression, what string) (cty.Value, bool) {
	if vars := expr.Variables(); len(vars) > 0 {
		l.errorf(vars[0].SourceRange(), "Variables not allowed",
			"A %s must be a constant value; compute values from other values in a locals block instead.", what)
		return cty.NilVal, false
	}
	val, diags := expr.Value(nil)
	l.diags = append(l.diags, diags...)
	return val, !diags.HasErrors()
}

// staticString reads a constant string attribute such as description.
func (l *loader) staticString(a *hclsyntax.Attribute) (string, bool) {
	val, ok := l.constValue(a.Expr, a.Name)
	if !ok {
		return "", false
	}
	s, err := convert.Convert(val, cty.String)
	if err != nil || s.IsNull() {
		l.errorf(a.Expr.Range(), "Incorrect attribute value type",
			"The argument %q must be a string; write it in quotes.", a.Name)
		return "", false
	}
	return s.AsString(), true
}

// staticBool reads a constant bool attribute such as sensitive.
func (l *loader) staticBool(a *hclsyntax.Attribute) (bool, bool) {
	val, ok := l.constValue(a.Expr, a.Name)
	if !ok {
		return false, false
	}
	b, err := convert.Convert(val, cty.Bool)
	if err != nil || b.IsNull() {
		l.errorf(a.Expr.Range(), "Incorrect attribute value type",
			"The argument %q must be true or false.", a.Name)
		return false, false
	}
	return b.True(), true
}

// convertErrorText renders a cty conversion error for users, naming the
// nested attribute or element when there is one.
func convertErrorText(err error) string {
	if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
		return fmt.Sprintf("at %s: %s", formatPath(pe.Path), pe.Error())
	}
	return err.Error()
}

// formatPath renders a cty path like HCL: .attr, ["key"], [0].
func formatPath(path cty.Path) string {
	s := ""
	for _, step := range path {
		switch st := step.(type) {
		case cty.GetAttrStep:
			s += "." + st.Name
		case cty.IndexStep:
			switch {
			case st.Key.Type() == cty.String:
				s += fmt.Sprintf("[%q]", st.Key.AsString())
			case st.Key.Type() == cty.Number:
				s += "[" + st.Key.AsBigFloat().Text('f', -1) + "]"
			default:
				s += "[...]"
			}
		}
	}
	if s != "" && s[0] == '.' {
		s = s[1:]
	}
	return s
}
