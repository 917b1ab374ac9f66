package convert

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fields is one YAML mapping being converted. Converters take the keys they
// understand; unused reports every key nobody took, so that nothing is
// dropped silently. A nil *fields is an absent mapping: it has no keys.
type fields struct {
	c      *converter
	step   string // step name for warnings; "" for the pipeline
	prefix string // path of the mapping for messages, e.g. "docker_config."
	keys   []*yaml.Node
	vals   map[string]*yaml.Node
	used   map[string]bool
}

// fieldsOf wraps mapping node n. A scalar string holding JSON or YAML (how
// AnsFlow stores docker_config and k8s_config) is parsed first. Anything
// else is reported and treated as absent.
func (c *converter) fieldsOf(n *yaml.Node, step, prefix string) *fields {
	n = resolve(n)
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		var inner yaml.Node
		if err := yaml.Unmarshal([]byte(n.Value), &inner); err == nil && len(inner.Content) == 1 && inner.Content[0].Kind == yaml.MappingNode {
			fixLines(inner.Content[0], n.Line-1)
			n = inner.Content[0]
		}
	}
	if n.Kind != yaml.MappingNode {
		c.warnf(n.Line, step, "%s is not a mapping of settings; dropped", pathName(prefix))
		return nil
	}
	f := &fields{c: c, step: step, prefix: prefix, vals: map[string]*yaml.Node{}, used: map[string]bool{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := f.vals[k.Value]; dup {
			c.warnf(k.Line, step, "%s%s is set twice; the last value wins", prefix, k.Value)
		} else {
			f.keys = append(f.keys, k)
		}
		f.vals[k.Value] = v
	}
	return f
}

// pathName is a mapping's path for messages: "docker_config." → "docker_config".
func pathName(prefix string) string {
	if prefix == "" {
		return "the pipeline"
	}
	return prefix[:len(prefix)-1]
}

// fixLines shifts the line numbers of a document parsed from a string so
// that they point into the enclosing file (approximately, for JSON on one
// line: at the string).
func fixLines(n *yaml.Node, offset int) {
	n.Line += offset
	for _, c := range n.Content {
		fixLines(c, offset)
	}
}

// take returns the value of key (nil when absent) and marks it used.
func (f *fields) take(key string) *yaml.Node {
	if f == nil {
		return nil
	}
	v, ok := f.vals[key]
	if !ok {
		return nil
	}
	f.used[key] = true
	if v = resolve(v); isNull(v) {
		return nil
	}
	return v
}

// takeFirst returns the value of the first of keys present (aliases such as
// environment/env), marking every present one used and reporting the extras.
func (f *fields) takeFirst(keys ...string) *yaml.Node {
	var got *yaml.Node
	var gotKey string
	for _, k := range keys {
		v := f.take(k)
		if v == nil {
			continue
		}
		if got != nil {
			f.c.warnf(v.Line, f.step, "%s%s is ignored because %s%s is also set", f.prefix, k, f.prefix, gotKey)
			continue
		}
		got, gotKey = v, k
	}
	return got
}

// sub returns the nested mapping under key.
func (f *fields) sub(key string) *fields {
	v := f.take(key)
	if v == nil {
		return nil
	}
	return f.c.fieldsOf(v, f.step, f.prefix+key+".")
}

// has reports whether key is present, without taking it.
func (f *fields) has(key string) bool {
	if f == nil {
		return false
	}
	_, ok := f.vals[key]
	return ok
}

// unused reports every key not taken, in source order, with why: known
// names that this step type does not use get a reason of their own.
func (f *fields) unused(notUsedBy string, known map[string]bool) {
	if f == nil {
		return
	}
	for _, k := range f.keys {
		if f.used[k.Value] {
			continue
		}
		if known[k.Value] && notUsedBy != "" {
			f.c.warnf(k.Line, f.step, "%s%s is not used by %s steps; dropped", f.prefix, k.Value, notUsedBy)
			continue
		}
		f.c.warnf(k.Line, f.step, "%s%s is not supported; dropped", f.prefix, k.Value)
	}
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// scalarString returns the text of a scalar, and false for lists and maps.
func scalarString(n *yaml.Node) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}

// yamlLineRE matches the position yaml puts into its error messages.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a yaml parse error into an *Error with the line.
func yamlError(filename string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: filename, Line: line, Message: "invalid YAML: " + m[2]}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return &Error{File: filename, Message: fmt.Sprintf("invalid YAML: %v", te.Errors)}
	}
	return &Error{File: filename, Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}
