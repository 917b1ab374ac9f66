package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckDetails(t *testing.T) {
	for name, want := range map[string]string{
		"each_value_typo.hcl":           `The for_each values of exec.svc have no attribute "nme". Did you mean "name"?`,
		"each_value_typed_variable.hcl": `Did you mean "port"?`,
		"for_each_list_variable.hcl":    "wrap it in toset(...)",
		"sources_bad_glob.hcl":          `"src/[abc" is not a valid glob pattern`,
		"function_wrong_type.hcl":       "string required, but have list of string",
	} {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, filepath.Join("testdata", "bad_validate", name))
			p, diags := Load(f.dir)
			if diags.HasErrors() {
				t.Fatal(formatDiags(diags))
			}
			got := formatDiags(Check(p, nil))
			if !strings.Contains(got, want) {
				t.Errorf("got:\n%s\nwant a detail containing %q", got, want)
			}
		})
	}
}
