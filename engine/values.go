package engine

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/ansflow/ansflow/config"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// unknownMarker stands for a value known only after apply in the generic
// (JSON-like) form of a value.
type unknownMarker struct{}

const knownAfterApply = "(known after apply)"

// sensitiveHash is how a sensitive value is kept: a hash that still lets a
// change be detected, never the value. With the workspace's key (see
// state.HashKeyer) it is a keyed HMAC-SHA256, so that a copied state or
// plan file does not let anyone test guesses; a store without keys (nil)
// gets the older unkeyed form. A state written with the older form shows a
// changed hash once: the steps whose inputs hold a sensitive value run once
// more, and record the keyed hash from then on.
func sensitiveHash(key []byte, v cty.Value) string {
	b, _ := ctyjson.Marshal(v, v.Type())
	if key == nil {
		sum := sha256.Sum256(append([]byte("ansflow-sensitive:"), b...))
		return "(sensitive:sha256:" + hex.EncodeToString(sum[:8]) + ")"
	}
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return keyedHashPrefix + hex.EncodeToString(m.Sum(nil)[:16]) + ")"
}

// keyedHashPrefix starts a keyed hash of a sensitive value.
const keyedHashPrefix = "(sensitive:hmac-sha256:"

// generic converts v into plain Go values (map[string]any, []any, string,
// json.Number, bool, nil) with sensitive parts replaced by their hash and
// unknown parts by unknownMarker. secrets collects the sensitive strings.
func generic(v cty.Value, secrets *[]string, key []byte) any {
	if v.IsMarked() {
		uv, m := v.Unmark()
		if _, ok := m[config.Sensitive]; ok {
			deep, _ := uv.UnmarkDeep()
			if !deep.IsWhollyKnown() {
				return unknownMarker{}
			}
			if secrets != nil {
				collectStrings(deep, secrets)
			}
			return sensitiveHash(key, deep)
		}
		v = uv
	}
	if !v.IsKnown() {
		return unknownMarker{}
	}
	if v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Number:
		f := v.AsBigFloat()
		if f.IsInf() {
			// JSON has no infinity; keep it distinct from any real number.
			return "(infinite number)"
		}
		return json.Number(f.Text('f', -1))
	case t == cty.Bool:
		return v.True()
	case t.IsObjectType() || t.IsMapType():
		m := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			m[k.AsString()] = generic(ev, secrets, key)
		}
		return m
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		s := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			s = append(s, generic(ev, secrets, key))
		}
		return s
	case t == cty.DynamicPseudoType:
		return unknownMarker{}
	}
	return fmt.Sprint(v.GoString())
}

// collectSensitive adds the strings of the parts of v that carry the
// Sensitive mark (a registry block's password) to out.
func collectSensitive(v cty.Value, out *[]string) {
	if v == cty.NilVal {
		return
	}
	u, pvm := v.UnmarkDeepWithPaths()
	for _, pm := range pvm {
		if _, ok := pm.Marks[config.Sensitive]; !ok {
			continue
		}
		if part, err := pm.Path.Apply(u); err == nil {
			collectStrings(part, out)
		}
	}
}

func collectStrings(v cty.Value, out *[]string) {
	v, _ = v.UnmarkDeep()
	if !v.IsKnown() || v.IsNull() {
		return
	}
	t := v.Type()
	switch {
	case t == cty.String:
		if s := v.AsString(); len(s) >= 3 {
			*out = append(*out, s)
		}
	case t.IsObjectType() || t.IsMapType() || t.IsListType() || t.IsTupleType() || t.IsSetType():
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			collectStrings(ev, out)
		}
	}
}

// canonicalJSON encodes a generic value with sorted keys. Unknown parts must
// have been ruled out by the caller.
func canonicalJSON(g any) []byte {
	b, err := json.Marshal(g)
	if err != nil {
		panic(fmt.Sprintf("encoding known value: %v", err)) // generic values always encode
	}
	return b
}

// fingerprint hashes the redacted inputs and the file hashes a provider
// reported. Equal fingerprints mean nothing the step reads changed.
func fingerprint(inputsJSON []byte, files map[string]string) string {
	h := sha256.New()
	h.Write(inputsJSON)
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, files[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// containsUnknown reports whether a generic value has unknown parts.
func containsUnknown(g any) bool {
	switch x := g.(type) {
	case unknownMarker:
		return true
	case map[string]any:
		for _, v := range x {
			if containsUnknown(v) {
				return true
			}
		}
	case []any:
		for _, v := range x {
			if containsUnknown(v) {
				return true
			}
		}
	}
	return false
}

// leaf is one flattened value for attribute-level diffs.
type leaf struct {
	display   string
	unknown   bool
	sensitive bool
}

// flatten turns a generic value into path -> display string. Maps and
// objects add ".key" (or ["key"] when the key is not an identifier), lists
// add "[i]".
func flatten(g any, prefix string, out map[string]leaf) {
	switch x := g.(type) {
	case unknownMarker:
		out[prefix] = leaf{display: knownAfterApply, unknown: true}
	case map[string]any:
		if len(x) == 0 {
			out[prefix] = leaf{display: "{}"}
		}
		for k, v := range x {
			flatten(v, joinPath(prefix, k), out)
		}
	case []any:
		if len(x) == 0 {
			out[prefix] = leaf{display: "[]"}
			return
		}
		if l, ok := inlineList(x); ok {
			out[prefix] = l
			return
		}
		for i, v := range x {
			flatten(v, prefix+"["+strconv.Itoa(i)+"]", out)
		}
	case nil:
		// absent and null are the same for a diff
	case string:
		if strings.HasPrefix(x, "(sensitive:") {
			out[prefix] = leaf{display: x, sensitive: true}
		} else {
			out[prefix] = leaf{display: strconv.Quote(x)}
		}
	case json.Number:
		out[prefix] = leaf{display: x.String()}
	case float64:
		out[prefix] = leaf{display: strconv.FormatFloat(x, 'f', -1, 64)}
	case bool:
		out[prefix] = leaf{display: strconv.FormatBool(x)}
	default:
		out[prefix] = leaf{display: fmt.Sprint(x)}
	}
}

// inlineList renders a list of primitives on one line, as HCL would.
func inlineList(x []any) (leaf, bool) {
	parts := make([]string, 0, len(x))
	var l leaf
	for _, v := range x {
		m := map[string]leaf{}
		switch v.(type) {
		case map[string]any, []any:
			return leaf{}, false
		}
		flatten(v, "", m)
		e, ok := m[""]
		if !ok {
			e = leaf{display: "null"}
		}
		l.unknown = l.unknown || e.unknown
		l.sensitive = l.sensitive || e.sensitive
		parts = append(parts, e.display)
	}
	l.display = "[" + strings.Join(parts, ", ") + "]"
	return l, true
}

func joinPath(prefix, k string) string {
	if !isIdent(k) {
		return prefix + "[" + strconv.Quote(k) + "]"
	}
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9' {
			continue
		}
		return false
	}
	return true
}

// decodeGeneric parses stored JSON into a generic value (numbers as json.Number).
func decodeGeneric(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var g any
	if err := d.Decode(&g); err != nil {
		return nil
	}
	return g
}

// diffAttrs compares the stored inputs with the new ones, attribute by
// attribute, in path order.
func diffAttrs(before, after any, schema *config.StepSchema) []AttrChange {
	b := map[string]leaf{}
	a := map[string]leaf{}
	flatten(before, "", b)
	flatten(after, "", a)
	var out []AttrChange
	for _, p := range unionKeys(a, b) {
		bl, inB := b[p]
		al, inA := a[p]
		if inA && inB && bl == al {
			continue
		}
		c := AttrChange{Path: p}
		if inB {
			c.Before = strPtr(bl.display)
			c.Sensitive = bl.sensitive
		}
		if inA {
			c.After = strPtr(al.display)
			c.Unknown = al.unknown
			c.Sensitive = c.Sensitive || al.sensitive
		}
		if c.Sensitive {
			// Only hashes were compared; never show them.
			if c.Before != nil {
				c.Before = strPtr("(sensitive value)")
			}
			if c.After != nil && !c.Unknown {
				c.After = strPtr("(sensitive value)")
			}
		}
		if schema != nil {
			if attr := schema.Input(topAttr(p)); attr != nil && attr.ForceNew {
				c.ForceNew = true
			}
		}
		out = append(out, c)
	}
	return out
}

func topAttr(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

func strPtr(s string) *string { return &s }

// outputsFromJSON decodes stored outputs into the schema's output type,
// falling back to an all-null object when they cannot be read.
func outputsFromJSON(b []byte, t cty.Type) cty.Value {
	if len(b) == 0 {
		return cty.NullVal(t)
	}
	v, err := ctyjson.Unmarshal(b, t)
	if err != nil {
		return cty.NullVal(t)
	}
	return v
}

// outputsToJSON encodes provider outputs for the state, redacting secrets.
func outputsToJSON(v cty.Value, redact func(string) string) (json.RawMessage, error) {
	if v == cty.NilVal || v.IsNull() {
		return nil, nil
	}
	v, _ = v.UnmarkDeep()
	v = redactValue(v, redact)
	return ctyjson.Marshal(v, v.Type())
}

// redactValue replaces secrets inside every string of v.
func redactValue(v cty.Value, redact func(string) string) cty.Value {
	if redact == nil {
		return v
	}
	out, _ := cty.Transform(v, func(_ cty.Path, v cty.Value) (cty.Value, error) {
		if v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			if s := v.AsString(); redact(s) != s {
				return cty.StringVal(redact(s)), nil
			}
		}
		return v, nil
	})
	return out
}

// inputsFromJSON decodes stored inputs (best effort: types are implied).
func inputsFromJSON(b []byte) cty.Value {
	if len(b) == 0 {
		return cty.NilVal
	}
	t, err := ctyjson.ImpliedType(b)
	if err != nil {
		return cty.NilVal
	}
	v, err := ctyjson.Unmarshal(b, t)
	if err != nil {
		return cty.NilVal
	}
	return v
}

// stepValue is what other steps see of an instance: its inputs, overlaid
// with its outputs where those are known (or unknown when will change).
func stepValue(schema *config.StepSchema, inputs, outputs cty.Value, outputsUnknown bool) cty.Value {
	attrs := make(map[string]cty.Value, len(schema.Inputs)+len(schema.Outputs))
	if inputs != cty.NilVal && inputs.Type().IsObjectType() && !inputs.IsNull() && inputs.IsKnown() {
		for it := inputs.ElementIterator(); it.Next(); {
			k, v := it.Element()
			attrs[k.AsString()] = v
		}
	}
	for _, o := range schema.Outputs {
		if outputsUnknown {
			// An input of the same name (k8s_deploy.name) stays known; an
			// unset one (namespace) is decided by the apply.
			if in, isInput := attrs[o.Name]; !isInput || in.IsNull() {
				attrs[o.Name] = cty.UnknownVal(o.Type)
			}
			continue
		}
		var ov cty.Value
		if outputs != cty.NilVal && !outputs.IsNull() && outputs.Type().IsObjectType() && outputs.Type().HasAttribute(o.Name) {
			ov = outputs.GetAttr(o.Name)
		}
		if ov == cty.NilVal || ov.IsNull() {
			if _, ok := attrs[o.Name]; ok {
				continue // keep the input of the same name
			}
			ov = cty.NullVal(o.Type)
		}
		attrs[o.Name] = ov
	}
	for _, in := range schema.Inputs {
		if _, ok := attrs[in.Name]; !ok {
			attrs[in.Name] = cty.NullVal(in.Type)
		}
	}
	return cty.ObjectVal(attrs)
}

// intOutput reads a number output as an int pointer.
func intOutput(v cty.Value, name string) *int {
	if v == cty.NilVal || v.IsNull() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return nil
	}
	n := v.GetAttr(name)
	if n.IsNull() || !n.IsKnown() || n.Type() != cty.Number {
		return nil
	}
	i, acc := n.AsBigFloat().Int64()
	if acc != big.Exact {
		return nil
	}
	x := int(i)
	return &x
}
