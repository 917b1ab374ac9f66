package convert

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"
)

// credentialsURLRE matches a URL with a password in it
// (postgres://user:secret@host/db).
var credentialsURLRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@`)

// placeholderRE matches an AnsFlow {{name}} placeholder.
var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// gitPlaceholders are the placeholders that name ansflow's git built-ins.
var gitPlaceholders = map[string]string{
	"git_commit":       "commit",
	"git_short_commit": "short_commit",
	"git_branch":       "branch",
	"git_tag":          "tag",
}

// value converts a YAML value into an HCL expression for step s: scalars
// keep their YAML type, lists become tuples, mappings objects, and
// {{placeholders}} in strings become references.
func (c *converter) value(s *step, n *yaml.Node) hclwrite.Tokens {
	n = resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		elems := make([]hclwrite.Tokens, 0, len(n.Content))
		for _, e := range n.Content {
			if e = resolve(e); e.Kind == yaml.MappingNode {
				elems = append(elems, inlineObject(c.objectAttrs(s, e)))
				continue
			}
			elems = append(elems, c.value(s, e))
		}
		return hclwrite.TokensForTuple(elems)
	case yaml.MappingNode:
		return hclwrite.TokensForObject(c.objectAttrs(s, n))
	}
	switch n.ShortTag() {
	case "!!null":
		return hclwrite.TokensForValue(cty.NullVal(cty.DynamicPseudoType))
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return hclwrite.TokensForValue(cty.BoolVal(b))
		}
	case "!!int", "!!float":
		if v, err := cty.ParseNumberVal(strings.ReplaceAll(n.Value, "_", "")); err == nil {
			return hclwrite.TokensForValue(v)
		}
	}
	return c.str(s, n.Value, n.Line)
}

// objectAttrs converts the entries of a mapping.
func (c *converter) objectAttrs(s *step, n *yaml.Node) []hclwrite.ObjectAttrTokens {
	attrs := make([]hclwrite.ObjectAttrTokens, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		attrs = append(attrs, hclwrite.ObjectAttrTokens{Name: objectKey(k), Value: c.entryValue(s, k, n.Content[i+1])})
	}
	return attrs
}

// entryValue converts the value of mapping entry key; a literal string
// under a key that names a secret (DB_PASSWORD, api_token) becomes a
// sensitive variable instead.
func (c *converter) entryValue(s *step, key string, v *yaml.Node) hclwrite.Tokens {
	v = resolve(v)
	if (isSecretKey(key) || credentialsURLRE.MatchString(v.Value)) && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && v.Value != "" && !placeholderRE.MatchString(v.Value) {
		name := varName(key)
		if s != nil {
			name = s.label + "_" + name
		}
		return c.secret(s, name, v.Line, key)
	}
	return c.value(s, v)
}

// inlineObject renders an object on one line, { a = 1, b = 2 }, for list
// elements such as ports.
func inlineObject(attrs []hclwrite.ObjectAttrTokens) hclwrite.Tokens {
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenOBrace, Bytes: []byte("{")}}
	for i, a := range attrs {
		if i > 0 {
			toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComma, Bytes: []byte(",")})
		}
		toks = append(toks, a.Name...)
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenEqual, Bytes: []byte("=")})
		toks = append(toks, a.Value...)
	}
	return append(toks, &hclwrite.Token{Type: hclsyntax.TokenCBrace, Bytes: []byte("}")})
}

// objectKey renders a map key: bare when it is an identifier, else quoted.
func objectKey(k string) hclwrite.Tokens {
	if hclsyntax.ValidIdentifier(k) {
		return hclwrite.TokensForIdentifier(k)
	}
	return hclwrite.TokensForValue(cty.StringVal(k))
}

// str converts a string that may hold {{placeholders}}: a string that is a
// single placeholder becomes a plain reference (var.build_number), others
// become templates ("v${var.build_number}").
func (c *converter) str(s *step, text string, line int) hclwrite.Tokens {
	locs := placeholderRE.FindAllStringSubmatchIndex(text, -1)
	if len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(text) {
		if ref := c.placeholder(s, text[locs[0][2]:locs[0][3]], line); ref != nil {
			return hclwrite.TokensForTraversal(ref)
		}
		return hclwrite.TokensForValue(cty.StringVal(text))
	}
	if len(locs) == 0 {
		return hclwrite.TokensForValue(cty.StringVal(text))
	}
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenOQuote, Bytes: []byte(`"`)}}
	last := 0
	for _, loc := range locs {
		toks = appendLiteral(toks, text[last:loc[0]])
		last = loc[1]
		ref := c.placeholder(s, text[loc[2]:loc[3]], line)
		if ref == nil {
			toks = appendLiteral(toks, text[loc[0]:loc[1]])
			continue
		}
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenTemplateInterp, Bytes: []byte("${")})
		toks = append(toks, hclwrite.TokensForTraversal(ref)...)
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenTemplateSeqEnd, Bytes: []byte("}")})
	}
	toks = appendLiteral(toks, text[last:])
	return append(toks, &hclwrite.Token{Type: hclsyntax.TokenCQuote, Bytes: []byte(`"`)})
}

// appendLiteral appends the escaped literal part of a template.
func appendLiteral(toks hclwrite.Tokens, lit string) hclwrite.Tokens {
	if lit == "" {
		return toks
	}
	quoted := hclwrite.TokensForValue(cty.StringVal(lit)) // OQuote, QuotedLit, CQuote
	return append(toks, quoted[1:len(quoted)-1]...)
}

// placeholder resolves {{name}} for step s: git built-ins, the image of the
// latest docker_push or docker_build, or else a variable it declares. It
// returns nil (keep the text) for names that cannot be variables.
func (c *converter) placeholder(s *step, name string, line int) hcl.Traversal {
	stepName := ""
	if s != nil {
		stepName = s.name
	}
	if attr, ok := gitPlaceholders[name]; ok {
		return traversal("git", attr)
	}
	if name == "docker_image" {
		if src := c.imageSource(); src != nil {
			return c.ref(s, src, "ref")
		}
		c.warnf(line, stepName, "{{docker_image}} has no earlier docker_push or docker_build to take the image from; it reads var.docker_image instead")
	}
	if !hclsyntax.ValidIdentifier(name) {
		c.warnf(line, stepName, "{{%s}} is not a valid variable name; kept as text", name)
		return nil
	}
	c.declareVar(name, "string")
	return traversal("var", name)
}

// traversal builds root.attr.attr...
func traversal(root string, attrs ...string) hcl.Traversal {
	t := hcl.Traversal{hcl.TraverseRoot{Name: root}}
	for _, a := range attrs {
		t = append(t, hcl.TraverseAttr{Name: a})
	}
	return t
}

// ref refers from s to an output of step to, recording the graph edge.
func (c *converter) ref(s *step, to *step, attr string) hcl.Traversal {
	if s != nil {
		s.refs = append(s.refs, to)
	}
	return traversal(to.typ, to.label, attr)
}

// argv converts a command: lists stay lists; a string is split into words
// like a shell would, or run through sh -c when it uses shell syntax.
func (c *converter) argv(s *step, n *yaml.Node, field string) hclwrite.Tokens {
	line, ok := scalarString(n)
	if !ok || n.ShortTag() != "!!str" {
		return c.value(s, n)
	}
	words, needsShell, err := splitCommand(line)
	if err != nil {
		c.warnf(n.Line, s.name, "%s %q: %v; it runs through sh -c", field, line, err)
	}
	if needsShell {
		words = []string{"sh", "-c", line}
	}
	elems := make([]hclwrite.Tokens, len(words))
	for i, w := range words {
		elems[i] = c.str(s, w, n.Line)
	}
	return hclwrite.TokensForTuple(elems)
}

// duration converts a timeout: numbers are seconds ("300s"); strings that
// already are durations stay as they are.
func (c *converter) duration(s *step, n *yaml.Node) hclwrite.Tokens {
	text, ok := scalarString(n)
	if !ok {
		c.warnf(n.Line, s.name, "timeout must be a number of seconds or a duration; dropped")
		return nil
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		return hclwrite.TokensForValue(cty.StringVal(strconv.FormatFloat(f, 'f', -1, 64) + "s"))
	}
	return c.str(s, text, n.Line)
}

// ports converts a list of container ports; bare numbers become
// { container_port = N } objects.
func (c *converter) ports(s *step, n *yaml.Node) hclwrite.Tokens {
	if n.Kind != yaml.SequenceNode {
		return c.value(s, n)
	}
	elems := make([]hclwrite.Tokens, 0, len(n.Content))
	for _, e := range n.Content {
		e = resolve(e)
		if e.Kind == yaml.ScalarNode && (e.ShortTag() == "!!int" || e.ShortTag() == "!!str") {
			elems = append(elems, inlineObject([]hclwrite.ObjectAttrTokens{{
				Name: hclwrite.TokensForIdentifier("container_port"), Value: c.value(s, e),
			}}))
			continue
		}
		if e.Kind == yaml.MappingNode {
			elems = append(elems, inlineObject(c.objectAttrs(s, e)))
			continue
		}
		elems = append(elems, c.value(s, e))
	}
	return hclwrite.TokensForTuple(elems)
}

// condition converts one AnsFlow condition to a bool expression, or nil
// when ansflow cannot express it.
func (c *converter) condition(s *step, n *yaml.Node) hclwrite.Tokens {
	f := c.fieldsOf(n, s.name, "conditions[].")
	if f == nil {
		return nil
	}
	typ, _ := scalarString(f.take("type"))
	val := f.take("value")
	var lhs hcl.Traversal
	op := "=="
	switch typ {
	case "branch_equals":
		lhs = traversal("git", "branch")
	case "branch_not_equals":
		lhs, op = traversal("git", "branch"), "!="
	case "environment_equals":
		// AnsFlow's environments are ansflow's workspaces.
		lhs = hcl.Traversal{hcl.TraverseRoot{Name: "workspace"}}
	default:
		c.warnf(n.Line, s.name, "condition type %q is not supported (use branch_equals, branch_not_equals or environment_equals); dropped, so the step always runs", typ)
		return nil
	}
	if val == nil {
		c.warnf(n.Line, s.name, "condition %s has no value; dropped", typ)
		return nil
	}
	f.unused("", nil)
	toks := hclwrite.TokensForTraversal(lhs)
	toks = append(toks, &hclwrite.Token{Type: opToken(op), Bytes: []byte(op)})
	return append(toks, c.value(s, val)...)
}

func opToken(op string) hclsyntax.TokenType {
	if op == "!=" {
		return hclsyntax.TokenNotEqual
	}
	return hclsyntax.TokenEqualOp
}

// missing stands in for a value the YAML does not give: it declares a
// variable named after the step and attribute and reports it.
func (c *converter) missing(s *step, attr, typ, why string) hclwrite.Tokens {
	name := s.label + "_" + attr
	c.declareVar(name, typ)
	c.warnf(s.line, s.name, "%s; %s = var.%s, so set that variable or edit the result", why, attr, name)
	return hclwrite.TokensForTraversal(traversal("var", name))
}

// and joins bool expressions with &&.
func and(exprs []hclwrite.Tokens) hclwrite.Tokens {
	var out hclwrite.Tokens
	for i, e := range exprs {
		if i > 0 {
			out = append(out, &hclwrite.Token{Type: hclsyntax.TokenAnd, Bytes: []byte("&&")})
		}
		out = append(out, e...)
	}
	return out
}

// quoted renders a plain string.
func quoted(s string) hclwrite.Tokens { return hclwrite.TokensForValue(cty.StringVal(s)) }
