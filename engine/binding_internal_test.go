package engine

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestBindMatch(t *testing.T) {
	unknown := cty.UnknownVal(cty.String)
	cases := []struct {
		name         string
		planned, now cty.Value
		want         bool
	}{
		{"same", cty.StringVal("a"), cty.StringVal("a"), true},
		{"different", cty.StringVal("a"), cty.StringVal("b"), false},
		{"unknown matches anything", unknown, cty.StringVal("b"), true},
		{"unknown inside a list", cty.TupleVal([]cty.Value{cty.StringVal("echo"), unknown}), cty.TupleVal([]cty.Value{cty.StringVal("echo"), cty.StringVal("x")}), true},
		{"known part of a list changed", cty.TupleVal([]cty.Value{cty.StringVal("echo"), unknown}), cty.TupleVal([]cty.Value{cty.StringVal("rm"), cty.StringVal("x")}), false},
		{"list longer", cty.TupleVal([]cty.Value{cty.StringVal("a")}), cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}), false},
		{"map key added", cty.ObjectVal(map[string]cty.Value{"A": unknown}), cty.ObjectVal(map[string]cty.Value{"A": cty.StringVal("1"), "B": cty.StringVal("2")}), false},
		{"null and a value", cty.NullVal(cty.String), cty.StringVal(""), false},
		{"numbers", cty.NumberIntVal(1), cty.NumberIntVal(1), true},
		{"number and string", cty.NumberIntVal(1), cty.StringVal("1"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			planned := decodeGeneric(bindingJSON(generic(tc.planned, nil, nil)))
			if got := bindMatch(planned, generic(tc.now, nil, nil)); got != tc.want {
				t.Errorf("bindMatch(%#v, %#v) = %v, want %v", tc.planned, tc.now, got, tc.want)
			}
		})
	}
}
