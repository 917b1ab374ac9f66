package config

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestYAMLDecodeAll(t *testing.T) {
	guestbook := `# guestbook, as kubernetes/examples keeps it
apiVersion: v1
kind: Service
metadata:
  name: frontend
spec:
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend}
spec:
  replicas: 3
---
# only a comment
---
`
	tests := []struct {
		name string
		src  string
		want []cty.Value
	}{
		{"guestbook", guestbook, []cty.Value{
			cty.ObjectVal(map[string]cty.Value{
				"apiVersion": cty.StringVal("v1"), "kind": cty.StringVal("Service"),
				"metadata": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("frontend")}),
				"spec": cty.ObjectVal(map[string]cty.Value{"ports": cty.TupleVal([]cty.Value{
					cty.ObjectVal(map[string]cty.Value{"port": cty.NumberIntVal(80)})})}),
			}),
			cty.ObjectVal(map[string]cty.Value{
				"apiVersion": cty.StringVal("apps/v1"), "kind": cty.StringVal("Deployment"),
				"metadata": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("frontend")}),
				"spec":     cty.ObjectVal(map[string]cty.Value{"replicas": cty.NumberIntVal(3)}),
			}),
		}},
		{"one document, no marker", "a: 1\n", []cty.Value{cty.ObjectVal(map[string]cty.Value{"a": cty.NumberIntVal(1)})}},
		{"leading marker with content and an end marker", "--- a\n...\n--- |\n  text\n", []cty.Value{cty.StringVal("a"), cty.StringVal("text\n")}},
		{"null documents left out", "---\nnull\n---\nb: x\n", []cty.Value{cty.ObjectVal(map[string]cty.Value{"b": cty.StringVal("x")})}},
		{"a block scalar holding ---", "k: |\n  ---\n  v\n", []cty.Value{cty.ObjectVal(map[string]cty.Value{"k": cty.StringVal("---\nv\n")})}},
		{"empty", "", nil},
		{"CRLF", "a: 1\r\n---\r\nb: 2\r\n", []cty.Value{
			cty.ObjectVal(map[string]cty.Value{"a": cty.NumberIntVal(1)}),
			cty.ObjectVal(map[string]cty.Value{"b": cty.NumberIntVal(2)}),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := yamlDecodeAllFunc.Call([]cty.Value{cty.StringVal(tt.src)})
			if err != nil {
				t.Fatal(err)
			}
			want := cty.EmptyTupleVal
			if tt.want != nil {
				want = cty.TupleVal(tt.want)
			}
			if !got.RawEquals(want) {
				t.Errorf("got  %#v\nwant %#v", got, want)
			}
		})
	}
	t.Run("error names the document and the line", func(t *testing.T) {
		_, err := yamlDecodeAllFunc.Call([]cty.Value{cty.StringVal("a: 1\n---\nb: [1, 2\n")})
		if err == nil || !strings.Contains(err.Error(), "document 2") || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("err = %v, want one naming document 2 and line 3", err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		got, err := yamlDecodeAllFunc.Call([]cty.Value{cty.UnknownVal(cty.String)})
		if err != nil || got.IsKnown() {
			t.Errorf("got %#v, %v; want an unknown value", got, err)
		}
	})
}
