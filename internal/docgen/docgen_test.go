package docgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/providers/builtin"
	"github.com/zclconf/go-cty/cty"
)

// TestReferenceUpToDate fails when docs/reference differs from what the
// generator produces from the current schemas.
func TestReferenceUpToDate(t *testing.T) {
	diffs, err := Diff(filepath.Join("..", "..", "docs", "reference"))
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Errorf("docs/reference is out of date: %s; run `go generate ./internal/docgen` and commit the result", strings.Join(diffs, ", "))
	}
}

// TestExamplesLoad checks that the examples in the reference use only what
// config.Load accepts: the pipeline in README.md and each step type's
// minimal block.
func TestExamplesLoad(t *testing.T) {
	examples := map[string]string{"README": Example}
	for _, typ := range builtin.Schemas().Names() {
		examples[typ] = stepExample(builtin.Schemas().Lookup(typ))
	}
	for name, src := range examples {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, diags := builtin.Load(dir); diags.HasErrors() {
				t.Errorf("example does not load: %s\n%s", diags.Error(), src)
			}
		})
	}
}

func TestTypeString(t *testing.T) {
	tests := []struct {
		typ  cty.Type
		want string
	}{
		{cty.String, "string"},
		{cty.Number, "number"},
		{cty.Bool, "bool"},
		{cty.DynamicPseudoType, "any"},
		{cty.List(cty.String), "list(string)"},
		{cty.Map(cty.String), "map(string)"},
		{cty.Set(cty.Number), "set(number)"},
		{cty.Tuple([]cty.Type{cty.String, cty.Bool}), "tuple([string, bool])"},
		{cty.ObjectWithOptionalAttrs(map[string]cty.Type{"port": cty.Number, "name": cty.String}, []string{"name"}),
			"object({ name = optional(string), port = number })"},
		{cty.List(cty.Object(map[string]cty.Type{"a": cty.Map(cty.String)})), "list(object({ a = map(string) }))"},
	}
	for _, tt := range tests {
		if got := TypeString(tt.typ); got != tt.want {
			t.Errorf("TypeString(%#v) = %q, want %q", tt.typ, got, tt.want)
		}
	}
}
