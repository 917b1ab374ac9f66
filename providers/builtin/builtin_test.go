package builtin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/config"
)

// TestTypes checks that every built-in step type is whole: a schema with
// its docs, an implementation, and the views' words pointing at attributes
// it has; and that the registry and the schema set hold the same types.
func TestTypes(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range Types() {
		s := typ.Schema
		if s == nil || s.Type == "" {
			t.Fatalf("a built-in type has no schema (or no name): %+v", typ)
		}
		if seen[s.Type] {
			t.Errorf("%s is listed twice", s.Type)
		}
		seen[s.Type] = true
		if typ.Step == nil {
			t.Errorf("%s has a schema but no implementation", s.Type)
		}
		checkDocs(t, s)
		for _, id := range s.ResultIDs {
			if s.Output(id.Output) == nil {
				t.Errorf("%s: result id %q is not an output", s.Type, id.Output)
			}
		}
		if w := s.DeclarativeWhen; w != "" && (s.Input(w) == nil || s.Input(w).Type != cty.Bool) {
			t.Errorf("%s: DeclarativeWhen %q is not a bool input", s.Type, w)
		}
		if (s.Verbs.Doing == "") != (s.Verbs.Done == "") {
			t.Errorf("%s: verbs %+v need both words or neither", s.Type, s.Verbs)
		}
		if _, err := os.Stat(filepath.Join("..", "..", "docs", "reference", "steps", s.Type+".md")); err != nil {
			t.Errorf("%s has no reference page (run go generate ./...): %v", s.Type, err)
		}
	}
	reg, schemas := Registry(), Schemas()
	if len(reg) != len(seen) || len(schemas) != len(seen) {
		t.Errorf("%d types, %d implementations, %d schemas", len(seen), len(reg), len(schemas))
	}
	for name := range schemas {
		if _, err := reg.Lookup(name); err != nil {
			t.Errorf("schema %s without a provider: %v", name, err)
		}
	}
}

// checkDocs checks that the type and each of its attributes say what they
// are, and that no attribute is declared twice.
func checkDocs(t *testing.T, s *config.StepSchema) {
	t.Helper()
	if strings.TrimSpace(s.Description) == "" {
		t.Errorf("%s has no description", s.Type)
	}
	for kind, attrs := range map[string][]config.AttrSchema{"input": s.Inputs, "output": s.Outputs} {
		names := map[string]bool{}
		for _, a := range attrs {
			if names[a.Name] {
				t.Errorf("%s: %s %s is declared twice", s.Type, kind, a.Name)
			}
			names[a.Name] = true
			if strings.TrimSpace(a.Description) == "" {
				t.Errorf("%s: %s %s has no description", s.Type, kind, a.Name)
			}
		}
	}
}
