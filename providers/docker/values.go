package docker

import (
	"math/big"
	"sort"

	"github.com/ansflow/ansflow/config"
	"github.com/zclconf/go-cty/cty"
)

// attr returns obj.name, or a null value when obj is null or lacks it.
func attr(obj cty.Value, name string) cty.Value {
	if obj == cty.NilVal || obj.IsNull() || !obj.IsKnown() {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	t := obj.Type()
	if !(t.IsObjectType() && t.HasAttribute(name)) && !t.IsMapType() {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	if t.IsMapType() {
		if !obj.HasIndex(cty.StringVal(name)).True() {
			return cty.NullVal(cty.DynamicPseudoType)
		}
		return obj.Index(cty.StringVal(name))
	}
	return obj.GetAttr(name)
}

func attrString(obj cty.Value, name string) string {
	v := attr(obj, name)
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

func attrBool(obj cty.Value, name string) bool {
	v := attr(obj, name)
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Bool {
		return false
	}
	return v.True()
}

func attrInt(obj cty.Value, name string, def int) int {
	v := attr(obj, name)
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Number {
		return def
	}
	i, _ := v.AsBigFloat().Int64()
	return int(i)
}

func attrList(obj cty.Value, name string) []string {
	v := attr(obj, name)
	if v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() && e.IsKnown() && e.Type() == cty.String {
			out = append(out, e.AsString())
		}
	}
	return out
}

func attrMap(obj cty.Value, name string) map[string]string {
	v := attr(obj, name)
	if v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsNull() && e.IsKnown() && e.Type() == cty.String {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// outputs builds the output object of schema s from vals; attributes not
// in vals are null.
func outputs(s *config.StepSchema, vals map[string]cty.Value) cty.Value {
	ty := s.OutputType()
	m := make(map[string]cty.Value, len(ty.AttributeTypes()))
	for name, at := range ty.AttributeTypes() {
		if v, ok := vals[name]; ok && v != cty.NilVal {
			m[name] = v
		} else {
			m[name] = cty.NullVal(at)
		}
	}
	return cty.ObjectVal(m)
}

// strVal is cty.StringVal, or null for "".
func strVal(s string) cty.Value {
	if s == "" {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(s)
}

func intVal(i int64) cty.Value { return cty.NumberVal(new(big.Float).SetInt64(i)) }
