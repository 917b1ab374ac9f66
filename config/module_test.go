package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// writeTree writes files (relative path -> content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		full := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var moduleTree = map[string]string{
	"main.hcl": `
variable "env" { default = "dev" }
locals { suffix = "-${var.env}" }
exec "prep" { command = ["true"] }
module "api" {
  source = "./modules/svc"
  name   = "api${local.suffix}"
  image  = exec.prep.stdout
}
module "svc" {
  source   = "./modules/svc"
  for_each = { web = 80, db = 5432 }
  name     = "${each.key}:${each.value}"
  image    = module.api.image
}
output "img" { value = module.api.image }
`,
	"modules/svc/main.hcl": `
variable "name" { type = string }
variable "image" { type = string }
variable "port" { default = 8080 }
locals { label = "svc-${var.name}" }
exec "run" {
  command = ["echo", local.label, var.port]
}
module "inner" {
  source = "../inner"
  text   = var.image
}
output "image" { value = module.inner.echo }
output "where" { value = path.module }
`,
	"modules/inner/main.hcl": `
variable "text" { type = string }
exec "say" { command = ["echo", var.text] }
output "echo" { value = exec.say.stdout }
`,
}

// TestModuleLoading: calls load their modules (nested, relative to the
// calling module), with arguments, references and variables read.
func TestModuleLoading(t *testing.T) {
	dir := writeTree(t, moduleTree)
	p, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(formatDiags(diags))
	}
	api := p.Modules["api"]
	cases := []struct {
		name      string
		got, want any
	}{
		{"root path", p.Path, "."},
		{"module order", []string{p.ModuleOrder[0].Name, p.ModuleOrder[1].Name}, []string{"api", "svc"}},
		{"api path", api.Module.Path, "modules/svc"},
		{"nested path", api.Module.Modules["inner"].Module.Path, "modules/inner"},
		{"api source", api.Source, "./modules/svc"},
		{"arg refs", refAddrs(api.Args["image"].Refs), []string{"exec.prep"}},
		{"arg vars through locals", api.Args["name"].Vars, []string{"env"}},
		{"svc reads module.api", refAddrs(p.Modules["svc"].Args["image"].Refs), []string{"module.api"}},
		{"step vars through locals", api.Module.Steps["exec.run"].Vars, []string{"name", "port"}},
		{"output refs", refAddrs(api.Module.Outputs["image"].Refs), []string{"module.inner"}},
		{"output attr", api.Module.Outputs["image"].Refs[0].Attr, "echo"},
		{"root output refs", refAddrs(p.Outputs["img"].Refs), []string{"module.api"}},
		{"module files shared", p.Files[filepath.Join(dir, "modules", "inner", "main.hcl")] != nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !equalAny(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func refAddrs(refs []StepRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Addr)
	}
	return out
}

func equalAny(a, b any) bool {
	as, aok := a.([]string)
	bs, bok := b.([]string)
	if aok && bok {
		return slices.Equal(as, bs)
	}
	return a == b
}

// TestModuleScope: a module's variables are its call's arguments evaluated
// in the caller (each included), its locals are its own, and path.module
// is its directory.
func TestModuleScope(t *testing.T) {
	dir := writeTree(t, moduleTree)
	p, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(formatDiags(diags))
	}
	vals, diags := p.ResolveVariables(VarInputs{})
	if diags.HasErrors() {
		t.Fatal(formatDiags(diags))
	}
	root, diags := NewScope(p, ScopeOptions{Vars: vals})
	if diags.HasErrors() {
		t.Fatal(formatDiags(diags))
	}
	steps := StepValues{"exec": {"prep": cty.ObjectVal(map[string]cty.Value{"stdout": cty.StringVal("img:1")})}}
	cases := []struct {
		name  string
		call  string
		key   InstanceKey
		steps StepValues
		expr  string
		want  cty.Value
	}{
		{"argument from caller locals", "api", NoKey, steps, "var.name", cty.StringVal("api-dev")},
		{"argument from caller step", "api", NoKey, steps, "var.image", cty.StringVal("img:1")},
		{"unknown step is unknown", "api", NoKey, nil, "var.image", cty.UnknownVal(cty.String)},
		{"default", "api", NoKey, steps, "var.port", cty.NumberIntVal(8080)},
		{"own locals", "api", NoKey, steps, "local.label", cty.StringVal("svc-api-dev")},
		{"path.module", "api", NoKey, steps, "path.module", cty.StringVal("modules/svc")},
		{"each in the call", "svc", StringKey("db"), nil, "var.name", cty.StringVal("db:5432")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, diags := root.Module(p.Modules[c.call], c.key, c.steps)
			if diags.HasErrors() {
				t.Fatal(formatDiags(diags))
			}
			got := evalString(t, s, c.expr)
			if !got.RawEquals(c.want) {
				t.Errorf("%s = %#v, want %#v", c.expr, got, c.want)
			}
		})
	}
	t.Run("for_each keys", func(t *testing.T) {
		keys, _, diags := root.ModuleForEach(p.Modules["svc"])
		if diags.HasErrors() || !slices.Equal(keys, []string{"db", "web"}) {
			t.Errorf("keys %v (%s), want [db web]", keys, diags.Error())
		}
	})
	t.Run("root has no module variables", func(t *testing.T) {
		if got := evalString(t, root, "path.module"); !got.RawEquals(cty.StringVal(".")) {
			t.Errorf("path.module at the root = %#v, want \".\"", got)
		}
	})
}

// evalString evaluates a small expression in s.
func evalString(t *testing.T, s *Scope, src string) cty.Value {
	t.Helper()
	expr, diags := hclParseExpr(src)
	if diags.HasErrors() {
		t.Fatal(formatDiags(diags))
	}
	v, diags := expr.Value(s.context(nil))
	if diags.HasErrors() {
		t.Fatal(formatDiags(diags))
	}
	return v
}

// TestModuleDiagnosticsNameTheCall: a diagnostic inside a module names its
// file and line, and the call chain that reached it.
func TestModuleDiagnosticsNameTheCall(t *testing.T) {
	files := map[string]string{
		"main.hcl":            "module \"a\" {\n  source = \"./a\"\n}\n",
		"a/main.hcl":          "module \"b\" {\n  source = \"../b\"\n}\n",
		"b/main.hcl":          "exec \"x\" {\n  command = [var.nope]\n}\n",
		"b/notes/ignored.txt": "not a pipeline file",
	}
	dir := writeTree(t, files)
	_, diags := Load(dir)
	if len(diags) != 1 {
		t.Fatalf("want one diagnostic, got:\n%s", formatDiags(diags))
	}
	d := diags[0]
	if want := filepath.Join(dir, "b", "main.hcl"); d.Subject.Filename != want || d.Subject.Start.Line != 2 || d.Subject.Start.Column != 14 {
		t.Errorf("subject %s, want %s:2,14", d.Subject, want)
	}
	want := "In module.a.module.b (called at " + filepath.Join(dir, "a", "main.hcl") + ":1,1)."
	if !strings.HasSuffix(d.Detail, want) {
		t.Errorf("detail %q should end with %q", d.Detail, want)
	}
}

// fakeResolver resolves remote sources from a map.
type fakeResolver map[string]string

func (f fakeResolver) ResolveModule(source string) (string, error) {
	if dir, ok := f[source]; ok {
		return dir, nil
	}
	return "", os.ErrNotExist
}

// TestModuleResolver: a source that is not a local path is asked of
// Options.Modules.
func TestModuleResolver(t *testing.T) {
	files := map[string]string{
		"main.hcl":                       "module \"r\" {\n  source = \"git::https://example.com/m.git?ref=v1\"\n}\noutput \"o\" { value = module.r.x }\n",
		".ansflow/modules/r/main.hcl":    "output \"x\" { value = path.module }\n",
		".ansflow/modules/r/README.hcl~": "",
	}
	dir := writeTree(t, files)
	p, diags := LoadWith(dir, Options{Schemas: BuiltinSchemas, Modules: fakeResolver{"git::https://example.com/m.git?ref=v1": filepath.Join(dir, ".ansflow", "modules", "r")}})
	if diags.HasErrors() {
		t.Fatal(formatDiags(diags))
	}
	if got := p.Modules["r"].Module.Path; got != ".ansflow/modules/r" {
		t.Errorf("path %q, want .ansflow/modules/r", got)
	}
	_, diags = LoadWith(dir, Options{Schemas: BuiltinSchemas, Modules: fakeResolver{}})
	if !diags.HasErrors() || diags[0].Summary != "Cannot use module source" || diags[0].Subject.Start.Line != 2 {
		t.Errorf("want a diagnostic at the source, got:\n%s", formatDiags(diags))
	}
}
