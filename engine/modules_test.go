package engine_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/zclconf/go-cty/cty"
)

// writeModule writes the files of a module directory under the pipeline.
func (h *harness) writeModule(dir string, files map[string]string) {
	h.t.Helper()
	full := filepath.Join(h.dir, dir)
	if err := os.MkdirAll(full, 0o755); err != nil {
		h.t.Fatal(err)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(full, name), []byte(src), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
}

// nestedModules is a root calling module app (with for_each too), which
// calls module lib: values flow in through variables and out through
// outputs at both levels.
const nestedRoot = `
variable "greeting" { default = "hello" }
variable "on" {
  type    = bool
  default = true
}

exec "prep" { command = ["echo", "prepared"] }

module "app" {
  source = "./modules/app"
  name   = "api"
  input  = "${var.greeting} ${trimspace(exec.prep.stdout)}"
  on     = var.on
}

module "svc" {
  source   = "./modules/app"
  for_each = toset(["a", "b"])
  name     = each.key
  input    = module.app.result
}

exec "consume" {
  command = ["echo", "got", module.app.result, module.svc["b"].result]
}

output "app" { value = module.app.result }
output "svc_keys" { value = keys(module.svc) }
`

var nestedModuleFiles = map[string]map[string]string{
	"modules/app": {"main.hcl": `
variable "name" { type = string }
variable "input" { type = string }
variable "on" {
  type    = bool
  default = true
}

locals { label = "app-${var.name}" }

module "lib" {
  source = "../lib"
  text   = "${local.label}:${var.input}"
  when   = var.on
}

exec "wrap" {
  command = ["echo", module.lib.out, path.module]
}

output "result" { value = trimspace(exec.wrap.stdout) }
`},
	"modules/lib": {"main.hcl": `
variable "text" { type = string }

exec "say" { command = ["echo", var.text] }

output "out" { value = trimspace(exec.say.stdout) }
`},
}

func newModuleHarness(t *testing.T, root string, modules map[string]map[string]string) *harness {
	h := newHarness(t)
	h.write(root)
	for dir, files := range modules {
		h.writeModule(dir, files)
	}
	return h
}

// TestModulesApply: values flow into and out of nested modules, state has
// module addresses, and a second plan changes nothing.
func TestModulesApply(t *testing.T) {
	files := map[string]map[string]string{
		"modules/app": {"main.hcl": strings.Replace(nestedModuleFiles["modules/app"]["main.hcl"], "  when   = var.on\n", "", 1)},
		"modules/lib": nestedModuleFiles["modules/lib"],
	}
	h := newModuleHarness(t, nestedRoot, files)
	res := h.apply(engine.Options{})
	if !res.OK() {
		t.Fatalf("apply failed: %v", res.Failures)
	}
	wantApp := "app-api:hello prepared modules/app"
	if got := res.Outputs["app"]; !got.RawEquals(cty.StringVal(wantApp)) {
		t.Errorf("output app = %#v, want %q", got, wantApp)
	}
	_, _, st := h.load()
	var addrs []string
	for a := range st.Instances {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	want := []string{
		"exec.consume", "exec.prep",
		"module.app.exec.wrap", "module.app.module.lib.exec.say",
		`module.svc["a"].exec.wrap`, `module.svc["a"].module.lib.exec.say`,
		`module.svc["b"].exec.wrap`, `module.svc["b"].module.lib.exec.say`,
	}
	if !slices.Equal(addrs, want) {
		t.Errorf("state addresses\n got %q\nwant %q", addrs, want)
	}
	consume := st.Instances["exec.consume"]
	wantOut := "got " + wantApp + " app-b:" + wantApp + " modules/app\n"
	if got := string(consume.Outputs); !strings.Contains(got, strings.ReplaceAll(wantOut, "\n", `\n`)) {
		t.Errorf("exec.consume outputs %s, want stdout %q", got, wantOut)
	}
	if deps := st.Instances[`module.svc["a"].module.lib.exec.say`].Dependencies; !slices.Contains(deps, "module.app.exec.wrap") {
		t.Errorf("module.svc[\"a\"].module.lib.exec.say depends on %v, want module.app.exec.wrap (through var.input and var.text)", deps)
	}
	plan := h.plan(engine.Options{})
	for _, c := range plan.Changes {
		if c.Action != engine.NoOp {
			t.Errorf("second plan: %s is %s (%v), want up to date", c.Addr, c.Action, c.Reasons)
		}
	}
	if len(plan.Changes) != len(want) {
		t.Errorf("second plan has %d changes, want %d", len(plan.Changes), len(want))
	}
}

// TestModuleWhenKeepsState: when = false on a module call skips every step
// inside and keeps what they recorded.
func TestModuleWhenKeepsState(t *testing.T) {
	h := newModuleHarness(t, nestedRoot, nestedModuleFiles)
	if res := h.apply(engine.Options{}); !res.OK() {
		t.Fatalf("apply failed: %v", res.Failures)
	}
	plan := h.plan(engine.Options{}, "on=false")
	for _, c := range plan.Changes {
		inLib := strings.Contains(c.Addr, "module.app.module.lib.")
		switch {
		case inLib && c.Action != engine.Skip:
			t.Errorf("%s is %s, want skipped (its module's when is false)", c.Addr, c.Action)
		case c.Action == engine.Delete:
			t.Errorf("%s would be deleted", c.Addr)
		}
	}
	if res := h.apply(engine.Options{}, "on=false"); !res.OK() {
		t.Fatalf("apply failed: %v", res.Failures)
	}
	if _, _, st := h.load(); st.Instances["module.app.module.lib.exec.say"] == nil {
		t.Errorf("module.app.module.lib.exec.say left the state; a skipped module keeps it")
	}
}

// TestModuleDependsOnAndTarget: depends_on on a module waits for all of
// it, a module call's depends_on holds back every step inside, and
// -target=module.NAME applies the module and what it needs.
func TestModuleDependsOnAndTarget(t *testing.T) {
	root := `
exec "first" { command = ["sh", "-c", "sleep 0.2; echo first >> order.txt"] }

module "m" {
  source     = "./modules/m"
  depends_on = [exec.first]
}

exec "last" {
  command    = ["sh", "-c", "echo last >> order.txt"]
  depends_on = [module.m]
}

exec "other" { command = ["true"] }
`
	mod := map[string]map[string]string{"modules/m": {"main.hcl": `
exec "one" { command = ["sh", "-c", "sleep 0.1; echo one >> order.txt"] }
exec "two" { command = ["sh", "-c", "echo two >> order.txt"] }
`}}
	h := newModuleHarness(t, root, mod)
	if res := h.apply(engine.Options{}); !res.OK() {
		t.Fatalf("apply failed: %v", res.Failures)
	}
	data, err := os.ReadFile(filepath.Join(h.dir, "order.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(data))
	if len(lines) != 4 || lines[0] != "first" || lines[3] != "last" {
		t.Errorf("order %v: first must run before the module's steps, last after them", lines)
	}

	t.Run("target", func(t *testing.T) {
		h := newModuleHarness(t, root, mod)
		plan := h.plan(engine.Options{Targets: []string{"module.m"}})
		var run []string
		for _, c := range plan.Changes {
			if c.Action.Changes() {
				run = append(run, c.Addr)
			}
		}
		slices.Sort(run)
		if want := []string{"exec.first", "module.m.exec.one", "module.m.exec.two"}; !slices.Equal(run, want) {
			t.Errorf("-target=module.m plans %v, want %v", run, want)
		}
	})
}

// TestModuleSensitive: a sensitive root variable passed into a module stays
// sensitive in the step that reads it and in the module's output.
func TestModuleSensitive(t *testing.T) {
	const secret = "s3cr3t-value-for-modules"
	root := `
variable "token" {
  sensitive = true
  default   = "` + secret + `"
}
module "m" {
  source = "./modules/m"
  token  = var.token
}
output "seen" {
  value     = module.m.seen
  sensitive = true
}
`
	mod := map[string]map[string]string{"modules/m": {"main.hcl": `
variable "token" { type = string }
exec "use" { command = ["echo", "token=${var.token}"] }
output "seen" { value = "${var.token}!" }
`}}
	h := newModuleHarness(t, root, mod)
	res := h.apply(engine.Options{})
	if !res.OK() {
		t.Fatalf("apply failed: %v", res.Failures)
	}
	if v := res.Outputs["seen"]; !config.HasSensitive(v) {
		t.Errorf("output seen is not marked sensitive: %#v", v)
	}
	err := filepath.Walk(filepath.Join(h.dir, ".ansflow"), func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(data), secret) {
			t.Errorf("%s holds the secret in clear text", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRemovedModuleIsDeleted: removing a module call deletes what its
// declarative steps created, dependents first; destroy does the same.
func TestRemovedModuleIsDeleted(t *testing.T) {
	for _, destroy := range []bool{false, true} {
		t.Run(map[bool]string{false: "removed", true: "destroy"}[destroy], func(t *testing.T) {
			h := newFakeHarness(t, `
module "m" {
  source   = "./modules/m"
  for_each = toset(["x"])
}
`)
			h.writeModule("modules/m", map[string]string{"main.hcl": `
test_object "base" {}
test_object "top" { value = test_object.base.id }
`})
			h.apply(engine.Options{})
			if h.instance(`module.m["x"].test_object.top`) == nil {
				t.Fatalf("module.m[\"x\"].test_object.top is not in the state")
			}
			if !destroy {
				h.write("test_object \"other\" {}\n")
			}
			before := len(h.pt.Calls())
			res, diags := h.run(nil, engine.Options{Destroy: destroy})
			if diags.HasErrors() || !res.OK() {
				t.Fatalf("apply: %s %s", diags.Error(), failureText(res))
			}
			var deletes []string
			for _, c := range h.pt.Calls()[before:] {
				if c.Method == "Delete" {
					deletes = append(deletes, c.Addr)
				}
			}
			want := []string{`module.m["x"].test_object.top`, `module.m["x"].test_object.base`}
			if !slices.Equal(deletes, want) {
				t.Errorf("deleted %v, want %v (dependents first)", deletes, want)
			}
		})
	}
}
