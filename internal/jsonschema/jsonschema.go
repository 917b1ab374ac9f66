// Package jsonschema validates JSON values against the small subset of JSON
// Schema (draft 2020-12) that ansflow's documented schemas use: type, enum,
// const, properties, required, additionalProperties, items, oneOf, minimum
// and local $ref into $defs. Annotations (title, description, format,
// examples, $schema, $id, $comment) are accepted and ignored. Any other
// keyword is an error, so a schema cannot silently rely on something this
// validator does not check.
package jsonschema

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Schema is a compiled schema document.
type Schema struct {
	root map[string]any
}

var (
	checked = []string{"type", "enum", "const", "properties", "required", "additionalProperties", "items", "oneOf", "minimum", "$ref", "$defs"}
	ignored = []string{"title", "description", "format", "examples", "$schema", "$id", "$comment"}
)

// Parse reads a schema document and checks that it uses only the supported
// keywords and that every $ref resolves.
func Parse(data []byte) (*Schema, error) {
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("schema is not a JSON object: %w", err)
	}
	s := &Schema{root: root}
	if err := s.check(root, "#"); err != nil {
		return nil, err
	}
	return s, nil
}

// check walks a schema node, refusing unsupported keywords.
func (s *Schema) check(node map[string]any, at string) error {
	for k, v := range node {
		switch {
		case slices.Contains(ignored, k):
		case !slices.Contains(checked, k):
			return fmt.Errorf("%s: keyword %q is not supported by this validator", at, k)
		case k == "properties" || k == "$defs":
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%s/%s: want an object", at, k)
			}
			for name, sub := range m {
				if err := s.checkSub(sub, at+"/"+k+"/"+name); err != nil {
					return err
				}
			}
		case k == "items" || k == "additionalProperties":
			if _, isBool := v.(bool); isBool && k == "additionalProperties" {
				continue
			}
			if err := s.checkSub(v, at+"/"+k); err != nil {
				return err
			}
		case k == "oneOf":
			list, ok := v.([]any)
			if !ok {
				return fmt.Errorf("%s/oneOf: want an array", at)
			}
			for i, sub := range list {
				if err := s.checkSub(sub, fmt.Sprintf("%s/oneOf/%d", at, i)); err != nil {
					return err
				}
			}
		case k == "$ref":
			ref, _ := v.(string)
			if _, err := s.resolve(ref); err != nil {
				return fmt.Errorf("%s: %w", at, err)
			}
		}
	}
	return nil
}

func (s *Schema) checkSub(v any, at string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: want a schema object", at)
	}
	return s.check(m, at)
}

// resolve finds a local reference of the form "#/$defs/NAME".
func (s *Schema) resolve(ref string) (map[string]any, error) {
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		return nil, fmt.Errorf("$ref %q: only local references to #/$defs/NAME are supported", ref)
	}
	defs, _ := s.root["$defs"].(map[string]any)
	def, ok := defs[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q does not resolve", ref)
	}
	return def, nil
}

// ValidateJSON decodes data and validates it.
func (s *Schema) ValidateJSON(data []byte) error {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.Validate(v)
}

// Validate checks a decoded value (as from encoding/json, numbers as
// float64 or json.Number) and returns the first violation found.
func (s *Schema) Validate(v any) error {
	return s.validate(s.root, v, "")
}

func (s *Schema) validate(node map[string]any, v any, at string) error {
	if ref, ok := node["$ref"].(string); ok {
		def, err := s.resolve(ref)
		if err != nil {
			return err
		}
		if err := s.validate(def, v, at); err != nil {
			return err
		}
	}
	if t, ok := node["type"]; ok {
		if err := checkType(t, v, at); err != nil {
			return err
		}
	}
	if c, ok := node["const"]; ok && !equal(c, v) {
		return fmt.Errorf("%s: got %s, want %s", where(at), show(v), show(c))
	}
	if e, ok := node["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return equal(x, v) }) {
		return fmt.Errorf("%s: got %s, want one of %s", where(at), show(v), show(e))
	}
	if m, ok := node["minimum"]; ok {
		if n, isNum := number(v); isNum {
			if lo, _ := number(m); n < lo {
				return fmt.Errorf("%s: %v is less than the minimum %v", where(at), n, lo)
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		if err := s.validateObject(node, obj, at); err != nil {
			return err
		}
	}
	if list, ok := v.([]any); ok {
		if items, ok := node["items"].(map[string]any); ok {
			for i, x := range list {
				if err := s.validate(items, x, fmt.Sprintf("%s/%d", at, i)); err != nil {
					return err
				}
			}
		}
	}
	if one, ok := node["oneOf"].([]any); ok {
		return s.validateOneOf(one, v, at)
	}
	return nil
}

func (s *Schema) validateObject(node map[string]any, obj map[string]any, at string) error {
	if req, ok := node["required"].([]any); ok {
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				return fmt.Errorf("%s: required property %q is missing", where(at), r)
			}
		}
	}
	props, _ := node["properties"].(map[string]any)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if p, ok := props[k].(map[string]any); ok {
			if err := s.validate(p, obj[k], at+"/"+k); err != nil {
				return err
			}
			continue
		}
		switch ap := node["additionalProperties"].(type) {
		case bool:
			if !ap {
				return fmt.Errorf("%s: property %q is not allowed", where(at), k)
			}
		case map[string]any:
			if err := s.validate(ap, obj[k], at+"/"+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Schema) validateOneOf(one []any, v any, at string) error {
	matched := 0
	var errs []string
	for i, sub := range one {
		err := s.validate(sub.(map[string]any), v, at)
		if err == nil {
			matched++
			continue
		}
		errs = append(errs, fmt.Sprintf("  oneOf[%d]: %v", i, err))
	}
	switch matched {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("%s: matches none of the alternatives:\n%s", where(at), strings.Join(errs, "\n"))
	}
	return fmt.Errorf("%s: matches %d alternatives of oneOf, want exactly one", where(at), matched)
}

func checkType(t any, v any, at string) error {
	var want []string
	switch t := t.(type) {
	case string:
		want = []string{t}
	case []any:
		for _, x := range t {
			want = append(want, x.(string))
		}
	}
	got := typeOf(v)
	for _, w := range want {
		if w == got || w == "number" && got == "integer" {
			return nil
		}
	}
	return fmt.Errorf("%s: got %s %s, want %s", where(at), got, show(v), strings.Join(want, " or "))
}

func typeOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		if n, ok := number(v); ok {
			if n == math.Trunc(n) {
				return "integer"
			}
			return "number"
		}
	}
	return fmt.Sprintf("%T", v)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func equal(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return show(a) == show(b)
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func where(at string) string {
	if at == "" {
		return "(root)"
	}
	return at
}
