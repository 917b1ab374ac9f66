package config

import (
	"fmt"
	"strings"

	ctyyaml "github.com/zclconf/go-cty-yaml"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// yamlDecodeAllFunc is yamldecode_all(src): every document of a YAML
// stream (documents separated by --- lines, as in most Kubernetes
// manifests) decoded as yamldecode would, in order, as a tuple. Documents
// that are empty, hold only comments or decode to null are left out.
var yamlDecodeAllFunc = function.New(&function.Spec{
	Description: "Decodes every document of a YAML stream (documents separated by ---) into a tuple of values, leaving out empty documents.",
	Params:      []function.Parameter{{Name: "src", Type: cty.String}},
	Type: func(args []cty.Value) (cty.Type, error) {
		if !args[0].IsKnown() {
			return cty.DynamicPseudoType, nil
		}
		docs, err := decodeYAMLStream(args[0].AsString())
		if err != nil {
			return cty.NilType, function.NewArgError(0, err)
		}
		types := make([]cty.Type, len(docs))
		for i, d := range docs {
			types[i] = d.Type()
		}
		return cty.Tuple(types), nil
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		docs, err := decodeYAMLStream(args[0].AsString())
		if err != nil {
			return cty.NilVal, function.NewArgError(0, err)
		}
		return cty.TupleVal(docs), nil
	},
})

// decodeYAMLStream splits src at document markers and decodes each part.
func decodeYAMLStream(src string) ([]cty.Value, error) {
	out := []cty.Value{}
	for n, d := range splitYAMLDocuments(src) {
		ty, err := ctyyaml.ImpliedType([]byte(d))
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n+1, err)
		}
		v, err := ctyyaml.Unmarshal([]byte(d), ty)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n+1, err)
		}
		if !v.IsNull() {
			out = append(out, v)
		}
	}
	return out, nil
}

// splitYAMLDocuments cuts src at lines that start a document ("---",
// possibly followed by content) or end one ("..."); such a line at column 0
// can only be a marker, since block scalar content is indented. Parts with
// nothing but blank lines and comments are left out. Each part keeps its
// place in src (earlier lines blank), so errors name the lines of src.
func splitYAMLDocuments(src string) []string {
	var docs []string
	var b strings.Builder
	end := func() {
		if hasYAMLContent(b.String()) {
			docs = append(docs, b.String())
		}
		b.Reset()
	}
	for i, l := range strings.SplitAfter(src, "\n") {
		bare := strings.TrimRight(l, "\r\n")
		switch {
		case bare == "---" || strings.HasPrefix(bare, "--- ") || strings.HasPrefix(bare, "---\t"):
			end()
			b.WriteString(strings.Repeat("\n", i))
			b.WriteString(strings.TrimPrefix(bare, "---") + "\n")
		case bare == "...":
			end()
			b.WriteString(strings.Repeat("\n", i+1))
		default:
			b.WriteString(l)
		}
	}
	end()
	return docs
}

// hasYAMLContent reports whether text holds more than blank lines,
// comments and directives.
func hasYAMLContent(text string) bool {
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, "%") {
			return true
		}
	}
	return false
}
