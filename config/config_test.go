package config

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// writePipeline writes files (name → content) into a new directory.
func writePipeline(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustLoad(t testing.TB, dir string) *Pipeline {
	t.Helper()
	p, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatalf("Load: %s", diags.Error())
	}
	return p
}

func mustScope(t testing.TB, p *Pipeline, opts ScopeOptions) *Scope {
	t.Helper()
	s, diags := NewScope(p, opts)
	if diags.HasErrors() {
		t.Fatalf("NewScope: %s", diags.Error())
	}
	return s
}

func TestLoadFilesAndRefs(t *testing.T) {
	dir := filepath.Join("testdata", "good", "multi_file")
	p := mustLoad(t, dir)
	var files []string
	for name := range p.Files {
		files = append(files, name)
	}
	sort.Strings(files)
	if diff := cmp.Diff([]string{filepath.Join(dir, "a_vars.hcl"), filepath.Join(dir, "b_steps.hcl")}, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if !filepath.IsAbs(p.Dir) {
		t.Errorf("Dir = %q, want an absolute path", p.Dir)
	}
	var order []string
	for _, s := range p.StepOrder {
		order = append(order, s.Addr())
	}
	if diff := cmp.Diff([]string{"docker_build.app", "k8s_deploy.app"}, order); diff != "" {
		t.Errorf("step order (-want +got):\n%s", diff)
	}
	refs := p.Steps["k8s_deploy.app"].Refs
	if len(refs) != 1 || refs[0].Addr != "docker_build.app" || refs[0].Attr != "ref" || refs[0].DependsOn {
		t.Fatalf("refs = %+v, want one reference to docker_build.app.ref", refs)
	}
	if r := refs[0].Range; r.Filename != filepath.Join(dir, "b_steps.hcl") || r.Start.Line != 8 || r.Start.Column != 14 {
		t.Errorf("ref range = %s, want b_steps.hcl:8,14", r)
	}
}

func TestLoadRefsInSourceOrder(t *testing.T) {
	dir := writePipeline(t, map[string]string{"main.hcl": `
exec "a" { command = ["a"] }
exec "b" {
  for_each = toset(["x"])
  command  = ["b"]
}
exec "c" {
  depends_on = [exec.a, exec.b]
  command    = [exec.a.stdout, exec.b["x"].stderr]
  retry { attempts = length(exec.b) }
  env        = { for k, v in exec.b : k => v.stdout }
}
`})
	p := mustLoad(t, dir)
	var got []string
	for _, r := range p.Steps["exec.c"].Refs {
		got = append(got, fmt.Sprintf("%s/%s/%v@%d", r.Addr, r.Attr, r.DependsOn, r.Range.Start.Line))
	}
	want := []string{"exec.a//true@8", "exec.b//true@8", "exec.a/stdout/false@9", "exec.b/stderr/false@9", "exec.b//false@10", "exec.b//false@11"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
}

func TestLoadNoFiles(t *testing.T) {
	_, diags := Load(t.TempDir())
	if !diags.HasErrors() || diags[0].Summary != "No pipeline files" {
		t.Errorf("diags = %v, want No pipeline files", diags)
	}
	_, diags = Load(filepath.Join(t.TempDir(), "missing"))
	if !diags.HasErrors() || diags[0].Subject == nil {
		t.Errorf("diags = %v, want an error with a subject", diags)
	}
}

func TestResolveVariables(t *testing.T) {
	const decls = `
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "list" {
  type    = list(string)
  default = []
}
variable "num" {
  type    = number
  default = 0
}
variable "obj" {
  type    = object({ name = string, size = optional(number, 3) })
  default = { name = "x" }
}
variable "secret" {
  type      = string
  sensitive = true
  default   = "hidden"
}
`
	dir := writePipeline(t, map[string]string{
		"main.hcl":          decls,
		"a.auto.vars.hcl":   `c = "auto-a"` + "\n" + `d = "auto-a"`,
		"b.auto.vars.hcl":   `d = "auto-b"`,
		"one.vars.hcl":      `d = "file"` + "\n" + `list = ["x", "y"]`,
		".hidden.auto.vars": `a = "nope"`,
	})
	p := mustLoad(t, dir)
	tests := []struct {
		name string
		in   VarInputs
		want map[string]cty.Value
	}{
		{
			name: "defaults",
			want: map[string]cty.Value{"a": cty.StringVal("default"), "c": cty.StringVal("auto-a"), "d": cty.StringVal("auto-b")},
		},
		{
			name: "env below auto files",
			in:   VarInputs{Environ: []string{"ANSFLOW_VAR_b=env", "ANSFLOW_VAR_c=env", "ANSFLOW_VAR_unknown=x", "PATH=/bin"}},
			want: map[string]cty.Value{"b": cty.StringVal("env"), "c": cty.StringVal("auto-a")},
		},
		{
			name: "cli in order",
			in: VarInputs{
				Args:    []VarArg{{Name: "d", Value: "cli"}, {File: filepath.Join(dir, "one.vars.hcl")}, {Name: "a", Value: "cli"}},
				Environ: []string{"ANSFLOW_VAR_a=env"},
			},
			want: map[string]cty.Value{"a": cty.StringVal("cli"), "d": cty.StringVal("file"), "list": cty.ListVal([]cty.Value{cty.StringVal("x"), cty.StringVal("y")})},
		},
		{
			name: "conversion",
			in: VarInputs{Args: []VarArg{
				{Name: "num", Value: "42"},
				{Name: "list", Value: `["p", "q"]`},
				{Name: "obj", Value: `{ name = "n" }`},
				{Name: "b", Value: "not [hcl"},
			}},
			want: map[string]cty.Value{
				"num":  cty.NumberIntVal(42),
				"list": cty.ListVal([]cty.Value{cty.StringVal("p"), cty.StringVal("q")}),
				"obj":  cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("n"), "size": cty.NumberIntVal(3)}),
				"b":    cty.StringVal("not [hcl"),
			},
		},
		{
			name: "env number",
			in:   VarInputs{Environ: []string{"ANSFLOW_VAR_num=7"}},
			want: map[string]cty.Value{"num": cty.NumberIntVal(7)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, diags := p.ResolveVariables(tt.in)
			if diags.HasErrors() {
				t.Fatalf("ResolveVariables: %s", diags.Error())
			}
			if len(got) != len(p.Variables) {
				t.Errorf("got %d values, want one per variable (%d)", len(got), len(p.Variables))
			}
			for name, want := range tt.want {
				if !got[name].RawEquals(want) {
					t.Errorf("%s = %#v, want %#v", name, got[name], want)
				}
			}
			if s := got["secret"]; !s.HasMark(Sensitive) {
				t.Errorf("secret = %#v, want it marked sensitive", s)
			}
		})
	}
}

func TestResolveVariablesErrors(t *testing.T) {
	dir := writePipeline(t, map[string]string{"main.hcl": `
variable "req" { type = string }
variable "num" {
  type    = number
  default = 1
}
`})
	p := mustLoad(t, dir)
	tests := []struct {
		name string
		in   VarInputs
		want []string // summaries
	}{
		{"missing required", VarInputs{}, []string{"No value for required variable"}},
		{"wrong type from env", VarInputs{Environ: []string{"ANSFLOW_VAR_req=x", "ANSFLOW_VAR_num=abc"}}, []string{"Invalid value for variable"}},
		{"undeclared cli", VarInputs{Args: []VarArg{{Name: "req", Value: "x"}, {Name: "nmu", Value: "1"}}}, []string{"Value for undeclared variable"}},
		{"missing file", VarInputs{Args: []VarArg{{Name: "req", Value: "x"}, {File: filepath.Join(dir, "nope.vars.hcl")}}}, []string{"Cannot read variables file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := p.ResolveVariables(tt.in)
			var got []string
			for _, d := range diags {
				got = append(got, d.Summary)
				if d.Subject == nil {
					t.Errorf("diagnostic %q has no subject", d.Summary)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summaries (-want +got):\n%s", diff)
			}
		})
	}
}

const evalPipeline = `
variable "token" {
  type      = string
  sensitive = true
}
variable "tag" { default = "v1" }

locals {
  image = "app:${var.tag}"
  auth  = "Bearer ${var.token}"
}

registry "main" {
  address  = "127.0.0.1:5000"
  username = "ci"
  password = var.token
}

cluster "dev" { namespace = "dev" }

docker { host = "unix:///var/run/docker.sock" }

docker_build "app" {
  image = "app"
  tag   = var.tag
}

docker_run "test" {
  image   = docker_build.app.ref
  command = ["test", each.key, each.value]
  env     = { AUTH = local.auth, BRANCH = git.branch, WS = workspace, RUN = run.number }
  for_each = { unit = "u", e2e = "e" }
  timeout  = 30
  retry {
    attempts = 2
    delay    = "1500ms"
  }
}

docker_push "app" {
  image    = docker_build.app.ref
  registry = registry.main
  when     = git.branch == "main"
}

output "ref" { value = docker_push.app.ref }
output "auth" {
  value     = local.auth
  sensitive = true
}
`

func TestEvalStep(t *testing.T) {
	p := mustLoad(t, writePipeline(t, map[string]string{"main.hcl": evalPipeline}))
	vars, diags := p.ResolveVariables(VarInputs{Args: []VarArg{{Name: "token", Value: "t0k"}}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	s := mustScope(t, p, ScopeOptions{Vars: vars, Workspace: "ci", Run: RunInfo{Number: 7, ID: "r7"}, Git: GitInfo{Branch: "main"}})

	t.Run("defaults", func(t *testing.T) {
		st := p.Steps["docker_build.app"]
		in, meta, diags := s.EvalStep(st, NoKey, nil)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		if !in.Type().Equals(st.Schema.InputType()) {
			t.Errorf("inputs type = %#v, want %#v", in.Type(), st.Schema.InputType())
		}
		for attr, want := range map[string]cty.Value{
			"tag": cty.StringVal("v1"), "context": cty.StringVal("."), "dockerfile": cty.StringVal("Dockerfile"),
			"no_cache": cty.False, "target": cty.NullVal(cty.String),
		} {
			if got := in.GetAttr(attr); !got.RawEquals(want) {
				t.Errorf("%s = %#v, want %#v", attr, got, want)
			}
		}
		want := Meta{When: true, Retry: RetryPolicy{Attempts: 1, Backoff: 1}}
		if diff := cmp.Diff(want, meta); diff != "" {
			t.Errorf("meta (-want +got):\n%s", diff)
		}
	})

	t.Run("for_each, unknown and sensitive", func(t *testing.T) {
		st := p.Steps["docker_run.test"]
		keys, values, diags := s.ForEach(st)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		if diff := cmp.Diff([]string{"e2e", "unit"}, keys); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
		if !values["unit"].RawEquals(cty.StringVal("u")) {
			t.Errorf("each.value of unit = %#v", values["unit"])
		}
		steps := StepValues{"docker_build": {"app": cty.ObjectVal(map[string]cty.Value{"ref": cty.UnknownVal(cty.String)})}}
		in, meta, diags := s.EvalStep(st, StringKey("unit"), steps)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		if img := in.GetAttr("image"); img.IsKnown() {
			t.Errorf("image = %#v, want unknown", img)
		}
		cmd := in.GetAttr("command")
		if want := cty.ListVal([]cty.Value{cty.StringVal("test"), cty.StringVal("unit"), cty.StringVal("u")}); !cmd.RawEquals(want) {
			t.Errorf("command = %#v, want %#v", cmd, want)
		}
		env := in.GetAttr("env")
		if env.IsMarked() {
			t.Errorf("env map itself is marked; want only the AUTH element marked")
		}
		auth := env.Index(cty.StringVal("AUTH"))
		if !auth.HasMark(Sensitive) {
			t.Errorf("env.AUTH = %#v, want it marked sensitive", auth)
		}
		if got, _ := auth.Unmark(); got.AsString() != "Bearer t0k" {
			t.Errorf("env.AUTH = %q", got.AsString())
		}
		if env.Index(cty.StringVal("RUN")).AsString() != "7" || env.Index(cty.StringVal("WS")).AsString() != "ci" {
			t.Errorf("env = %#v, want RUN=7 WS=ci", env)
		}
		want := Meta{When: true, Timeout: 30 * time.Second, Retry: RetryPolicy{Attempts: 2, Delay: 1500 * time.Millisecond, Backoff: 1},
			Secrets: []string{"Bearer t0k"}}
		if diff := cmp.Diff(want, meta); diff != "" {
			t.Errorf("meta (-want +got):\n%s", diff)
		}
		if !HasSensitive(in) {
			t.Errorf("HasSensitive(inputs) = false")
		}
	})

	t.Run("registry object", func(t *testing.T) {
		st := p.Steps["docker_push.app"]
		in, meta, diags := s.EvalStep(st, NoKey, StepValues{"docker_build": {"app": cty.DynamicVal}})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		reg := in.GetAttr("registry")
		if reg.GetAttr("address").AsString() != "127.0.0.1:5000" || !reg.GetAttr("password").HasMark(Sensitive) {
			t.Errorf("registry = %#v", reg)
		}
		if !meta.When {
			t.Errorf("when = false, want true on branch main")
		}
	})

	t.Run("invalid key", func(t *testing.T) {
		_, _, diags := s.EvalStep(p.Steps["docker_run.test"], StringKey("nope"), nil)
		if !diags.HasErrors() {
			t.Errorf("want an error for an unknown instance key")
		}
	})

	t.Run("blocks and outputs", func(t *testing.T) {
		if got := s.Registry("main").GetAttr("name").AsString(); got != "main" {
			t.Errorf("registry name = %q", got)
		}
		if s.Registry("nope") != cty.NilVal || s.Cluster("nope") != cty.NilVal {
			t.Errorf("undeclared blocks should be cty.NilVal")
		}
		c := s.Cluster("dev")
		if c.GetAttr("namespace").AsString() != "dev" || !c.GetAttr("kubeconfig").IsNull() {
			t.Errorf("cluster = %#v", c)
		}
		if h := s.Docker().GetAttr("host").AsString(); h != "unix:///var/run/docker.sock" {
			t.Errorf("docker host = %q", h)
		}
		outs, diags := s.EvalOutputs(StepValues{"docker_push": {"app": cty.ObjectVal(map[string]cty.Value{"ref": cty.StringVal("r@sha256:1")})}})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		if outs["ref"].AsString() != "r@sha256:1" || !outs["auth"].HasMark(Sensitive) {
			t.Errorf("outputs = %#v", outs)
		}
	})
}

func TestEvalStepErrors(t *testing.T) {
	p := mustLoad(t, writePipeline(t, map[string]string{"main.hcl": `
variable "n" { default = "many" }
variable "b" { default = 0.5 }
k8s_scale "web" {
  name     = "web"
  replicas = var.n
  timeout  = var.n
  retry { backoff = var.b }
}
`}))
	s := mustScope(t, p, ScopeOptions{Vars: map[string]cty.Value{"n": cty.StringVal("many"), "b": cty.NumberFloatVal(0.5)}})
	in, meta, diags := s.EvalStep(p.Steps["k8s_scale.web"], NoKey, nil)
	var got []string
	for _, d := range diags {
		got = append(got, fmt.Sprintf("%d:%s", d.Subject.Start.Line, d.Summary))
	}
	want := []string{"6:Incorrect attribute value type", "7:Invalid timeout", "8:Invalid retry backoff"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	if !in.Type().Equals(p.Steps["k8s_scale.web"].Schema.InputType()) {
		t.Errorf("inputs do not conform to the schema even with errors: %#v", in.Type())
	}
	if meta.Retry.Attempts != 1 || meta.Retry.Backoff != 1 {
		t.Errorf("retry = %+v, want usable defaults", meta.Retry)
	}
}

func TestLocalsAndEnv(t *testing.T) {
	p := mustLoad(t, writePipeline(t, map[string]string{"main.hcl": `
locals {
  c = "${local.b}-c"
  b = "${local.a}-b"
  a = env("ANSFLOW_TEST_X", "unset")
  d = env("ANSFLOW_TEST_Y", "fallback")
  e = path.root
}
exec "x" { command = [local.c, local.d, local.e] }
`}))
	env := map[string]string{"ANSFLOW_TEST_X": "x"}
	s := mustScope(t, p, ScopeOptions{Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	in, _, diags := s.EvalStep(p.Steps["exec.x"], NoKey, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := cty.ListVal([]cty.Value{cty.StringVal("x-b-c"), cty.StringVal("fallback"), cty.StringVal(p.Dir)})
	if got := in.GetAttr("command"); !got.RawEquals(want) {
		t.Errorf("command = %#v, want %#v", got, want)
	}
}

func TestEvalContext(t *testing.T) {
	p := mustLoad(t, writePipeline(t, map[string]string{"main.hcl": `exec "x" { command = ["x"] }`}))
	s := mustScope(t, p, ScopeOptions{Workspace: "w"})
	ctx := s.EvalContext(StepValues{"exec": {"x": cty.ObjectVal(map[string]cty.Value{"stdout": cty.StringVal("hi")})}})
	for expr, want := range map[string]string{`"${exec.x.stdout}-${workspace}"`: "hi-w", `upper(exec.x.stdout)`: "HI"} {
		e, diags := hclParseExpr(expr)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		v, diags := e.Value(ctx)
		if diags.HasErrors() || v.AsString() != want {
			t.Errorf("%s = %#v (%v), want %q", expr, v, diags, want)
		}
	}
}

func TestFunctions(t *testing.T) {
	dir := writePipeline(t, map[string]string{
		"hello.txt": "hello\n",
		"tpl.txt":   "name=${name} n=${length(items)}%{ for i in items } ${i}%{ endfor }",
		"data.yaml": "a: 1\nb: [p, q]\n",
	})
	funcs := Functions(dir)
	ctx := &hcl.EvalContext{Functions: funcs, Variables: map[string]cty.Value{
		"secret": cty.StringVal("pw").Mark(Sensitive),
	}}
	tests := []struct {
		expr string
		want cty.Value
	}{
		{`file("hello.txt")`, cty.StringVal("hello\n")},
		{`fileexists("hello.txt")`, cty.True},
		{`fileexists("nope.txt")`, cty.False},
		{`filesha256("hello.txt")`, cty.StringVal("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")},
		{`sha256("hello\n")`, cty.StringVal("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")},
		{`md5("a")`, cty.StringVal("0cc175b9c0f1b6a831c399e269772661")},
		{`templatefile("tpl.txt", { name = "x", items = ["a", "b"] })`, cty.StringVal("name=x n=2 a b")},
		{`yamldecode(file("data.yaml")).b[1]`, cty.StringVal("q")},
		{`yamlencode({ a = 1 })`, cty.StringVal("\"a\": 1\n")},
		{`jsonencode({ a = [1, "b"] })`, cty.StringVal(`{"a":[1,"b"]}`)},
		{`jsondecode("{\"a\": true}").a`, cty.True},
		{`base64decode(base64encode("hé"))`, cty.StringVal("hé")},
		{`startswith("docker_build", "docker_")`, cty.True},
		{`endswith("x.hcl", ".yaml")`, cty.False},
		{`join(",", sort(distinct(["b", "a", "b"])))`, cty.StringVal("a,b")},
		{`format("%s-%03d", "v", 7)`, cty.StringVal("v-007")},
		{`length(toset(["a", "a"]))`, cty.NumberIntVal(1)},
		{`try(tonumber("x"), 3)`, cty.NumberIntVal(3)},
		{`lookup({ a = "1" }, "b", "d")`, cty.StringVal("d")},
		{`alltrue([true, 1 == 1])`, cty.True},
		{`anytrue([false, false])`, cty.False},
		{`fileexists("~/definitely-not-here-ansflow")`, cty.False},
		{`chomp(indent(2, "a\nb"))`, cty.StringVal("a\n  b")},
		{`templatefile("tpl.txt", { name = secret, items = [] })`, cty.StringVal("name=pw n=0").Mark(Sensitive)},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, diags := hclParseExpr(tt.expr)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			got, diags := e.Value(ctx)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if !got.RawEquals(tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		e, _ := hclParseExpr(`file("missing.txt")`)
		_, diags := e.Value(ctx)
		if !diags.HasErrors() || !strings.Contains(diags[0].Detail, `no file exists at "missing.txt"`) {
			t.Errorf("diags = %v, want a clear missing-file message", diags)
		}
	})
}

func TestReadGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git is needed to test git.*: %v", err)
		}
		t.Skip("git is not installed")
	}
	if g := ReadGit(t.TempDir()); g != (GitInfo{}) {
		t.Errorf("outside a repository: got %+v, want zero", g)
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", ".")
	git("commit", "-q", "-m", "first")
	git("tag", "v1.0.0")
	if err := os.MkdirAll(filepath.Join(dir, ".ansflow", "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".ansflow", "state", "default.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := ReadGit(dir)
	if len(g.Commit) != 40 || !strings.HasPrefix(g.Commit, g.ShortCommit) || g.ShortCommit == "" {
		t.Errorf("commit %q / short %q", g.Commit, g.ShortCommit)
	}
	if g.Branch != "main" || g.Tag != "v1.0.0" || g.Dirty {
		t.Errorf("got %+v, want branch main, tag v1.0.0, clean (.ansflow ignored)", g)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("checkout", "-q", "--detach")
	if g := ReadGit(dir); !g.Dirty || g.Branch != "" {
		t.Errorf("got %+v, want dirty and detached (no branch)", g)
	}
}

func FuzzLoad(f *testing.F) {
	seeds := []string{
		evalPipeline,
		`exec "x" { command = ["a"] }`,
		`docker_build "a" { for_each = toset(["x"]) image = each.key }`,
		`locals { a = local.a }`,
		`variable "v" { validation { condition = var.v } }`,
		`exec "x" { depends_on = ["exec.y", exec.x.stdout, 3] command = [exec.x[0]] }`,
		"exec \"x\" {\n  command = [\n",
	}
	if src, err := os.ReadFile(filepath.Join("testdata", "good", "seed", "main.hcl")); err == nil {
		seeds = append(seeds, string(src))
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		diags := runPipeline(dir, VarInputs{})
		for _, d := range diags {
			if d.Subject == nil {
				t.Errorf("diagnostic without subject: %s", d.Error())
			}
		}
	})
}

// chainPipeline writes a pipeline of n exec steps, each referring to the
// previous one.
func chainPipeline(b *testing.B, n int) string {
	var sb strings.Builder
	sb.WriteString("variable \"tag\" { default = \"dev\" }\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&sb, "exec \"s%d\" {\n  command = [\"echo\", var.tag]\n", i)
		if i > 0 {
			fmt.Fprintf(&sb, "  env = { PREV = exec.s%d.stdout }\n  depends_on = [exec.s%d]\n", i-1, i/2)
		}
		sb.WriteString("}\n")
	}
	return writePipeline(b, map[string]string{"main.hcl": sb.String()})
}

func BenchmarkLoad10000Steps(b *testing.B) {
	dir := chainPipeline(b, 10000)
	b.ResetTimer()
	for range b.N {
		if _, diags := Load(dir); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

func hclParseExpr(src string) (hcl.Expression, hcl.Diagnostics) {
	return hclsyntax.ParseExpression([]byte(src), "test.hcl", hcl.InitialPos)
}

func TestSuggestions(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{`docker_biuld "a" { image = "x" }`, `Did you mean "docker_build"?`},
		{`exec "a" { comand = ["x"] }`, `Did you mean "command"?`},
		{`exec "a" { depend_on = [] }`, `Did you mean "depends_on"?`},
		{`exec "a" { command = [uper("x")] }`, `Did you mean "upper"?`},
		{"exec \"a\" {\n command = [\"a\"]\n}\nexec \"b\" { command = [exec.aa.stdout] }", `Did you mean "exec.a"?`},
		{"exec \"a\" {\n command = [\"a\"]\n}\nexec \"b\" { command = [exec.a.stdot] }", `Did you mean "stdout"?`},
		{`exec "a" { command = [git.brnch] }`, `Did you mean "branch"?`},
		{`exec "a" { command = [each.key] }`, `add for_each to the step`},
		{`exec "a" { command = [zzz] }`, `Names accepted here: var, local`},
		{`registry "r" { adress = "x" }`, `Did you mean "address"?`},
		{"exec \"a\" {\n command = [\"x\"]\n rety { attempts = 2 }\n}", `Did you mean "retry"?`},
		{"exec \"a\" {\n command = [\"x\"]\n retry { atempts = 2 }\n}", `Did you mean "attempts"?`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, diags := Load(writePipeline(t, map[string]string{"main.hcl": tt.src}))
			for _, d := range diags {
				if strings.Contains(d.Detail, tt.want) {
					return
				}
			}
			t.Errorf("no diagnostic detail contains %q; got:\n%s", tt.want, formatDiags(diags))
		})
	}
}

func TestLoadDeclarations(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "good", "meta.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, writePipeline(t, map[string]string{"main.hcl": string(src)}))
	if p.Settings == nil || p.Settings.Backend == nil || p.Settings.Backend.Type != "kubernetes" {
		t.Fatalf("settings = %+v, want a kubernetes backend", p.Settings)
	}
	attrs, diags := p.Settings.Backend.Config.JustAttributes()
	if diags.HasErrors() || attrs["namespace"] == nil {
		t.Errorf("backend config attributes = %v (%v), want namespace", attrs, diags)
	}
	env := p.Variables["env"]
	if env == nil || env.Type != cty.String || !env.HasDefault || !env.Default.RawEquals(cty.StringVal("dev")) || len(env.Validations) != 1 {
		t.Errorf("variable env = %+v", env)
	}
	if tok := p.Variables["token"]; tok == nil || !tok.Sensitive {
		t.Errorf("variable token = %+v, want sensitive", tok)
	}
	if o := p.Outputs["token"]; o == nil || !o.Sensitive || o.Expr == nil {
		t.Errorf("output token = %+v, want sensitive with a value", o)
	}
	lint := p.Steps["exec.lint"]
	if lint.When == nil || lint.Timeout == nil || lint.ContinueOnError == nil || lint.Retry == nil || lint.Retry.Backoff == nil || lint.ForEach != nil {
		t.Errorf("exec.lint meta-arguments = %+v", lint)
	}
	vars, diags := p.ResolveVariables(VarInputs{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	s := mustScope(t, p, ScopeOptions{Vars: vars})
	if keys, vals, diags := s.ForEach(lint); keys != nil || vals != nil || diags != nil {
		t.Errorf("ForEach without for_each = %v, %v, %v; want all nil", keys, vals, diags)
	}
	_, meta, diags := s.EvalStep(lint, NoKey, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := Meta{When: true, Timeout: 90 * time.Second, ContinueOnError: true, Retry: RetryPolicy{Attempts: 3, Delay: time.Second, Backoff: 2}}
	if diff := cmp.Diff(want, meta); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
}

func TestForEachInstances(t *testing.T) {
	p := mustLoad(t, writePipeline(t, map[string]string{"main.hcl": `
variable "m" {
  type = map(string)
  default = { b = "2", a = "1" }
}
exec "map" {
  for_each = var.m
  command  = [each.key, each.value]
}
exec "set" {
  for_each = toset(["y", "x"])
  command  = [each.key, each.value]
}
exec "empty" {
  for_each = {}
  command  = ["x"]
}
`}))
	s := mustScope(t, p, ScopeOptions{Vars: map[string]cty.Value{"m": cty.MapVal(map[string]cty.Value{"b": cty.StringVal("2"), "a": cty.StringVal("1")})}})
	for addr, want := range map[string][]string{"exec.map": {"a", "b"}, "exec.set": {"x", "y"}, "exec.empty": {}} {
		keys, _, diags := s.ForEach(p.Steps[addr])
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		if keys == nil || !cmp.Equal(want, keys) {
			t.Errorf("%s keys = %#v, want %#v", addr, keys, want)
		}
	}
	in, _, diags := s.EvalStep(p.Steps["exec.map"], StringKey("b"), nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if want := cty.ListVal([]cty.Value{cty.StringVal("b"), cty.StringVal("2")}); !in.GetAttr("command").RawEquals(want) {
		t.Errorf("command = %#v, want %#v", in.GetAttr("command"), want)
	}
	if _, _, diags := s.EvalStep(p.Steps["exec.map"], NoKey, nil); !diags.HasErrors() || diags[0].Summary != "Missing instance key" {
		t.Errorf("EvalStep without a key on a for_each step: %v, want Missing instance key", diags)
	}
}

func TestEvalStepHandBuilt(t *testing.T) {
	f, diags := hclsyntax.ParseConfig([]byte("command = [\"a\", upper(\"b\")]\nretry {\n attempts = 2\n}\n"), "x.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	step := &Step{Type: "exec", Name: "x", Schema: LookupStepSchema("exec"), Config: f.Body}
	p := &Pipeline{Dir: t.TempDir()}
	in, _, diags := mustScope(t, p, ScopeOptions{}).EvalStep(step, NoKey, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if want := cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("B")}); !in.GetAttr("command").RawEquals(want) {
		t.Errorf("command = %#v, want %#v", in.GetAttr("command"), want)
	}
}

// BenchmarkEvalStep10000Steps evaluates one step while passing the values of
// all 10,000: the cost must not depend on how many are passed.
func BenchmarkEvalStep10000Steps(b *testing.B) {
	p := mustLoad(b, chainPipeline(b, 10000))
	s := mustScope(b, p, ScopeOptions{Vars: map[string]cty.Value{"tag": cty.StringVal("v")}})
	steps := unknownSteps(p)
	step := p.Steps["exec.s5000"]
	b.ResetTimer()
	for range b.N {
		if _, _, diags := s.EvalStep(step, NoKey, steps); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

func TestEvalStepInputTypes(t *testing.T) {
	p := mustLoad(t, filepath.Join("testdata", "good", "seed"))
	s := mustScope(t, p, ScopeOptions{})
	steps := unknownSteps(p)
	for _, st := range p.StepOrder {
		in, _, diags := s.EvalStep(st, NoKey, steps)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", st.Addr(), diags.Error())
		}
		want := st.Schema.InputType().WithoutOptionalAttributesDeep()
		if errs := in.Type().TestConformance(want); len(errs) > 0 {
			t.Errorf("%s: inputs %#v do not conform to %#v: %v", st.Addr(), in.Type(), want, errs)
		}
		for name, at := range in.Type().AttributeTypes() {
			if at.IsObjectType() && len(at.OptionalAttributes()) > 0 {
				t.Errorf("%s.%s: value type has optional attributes: %#v", st.Addr(), name, at)
			}
		}
	}
}

func TestEvalStepConcurrent(t *testing.T) {
	p := mustLoad(t, writePipeline(t, map[string]string{"main.hcl": `
exec "a" {
  for_each = toset(["1", "2", "3", "4"])
  command  = ["echo", each.key]
}
`}))
	s := mustScope(t, p, ScopeOptions{})
	step := p.Steps["exec.a"]
	errs := make(chan string, 8)
	for i := range 8 {
		go func() {
			key := fmt.Sprint(i%4 + 1)
			in, _, diags := s.EvalStep(step, StringKey(key), nil)
			switch {
			case diags.HasErrors():
				errs <- diags.Error()
			case in.GetAttr("command").Index(cty.NumberIntVal(1)).AsString() != key:
				errs <- "wrong each.key for " + key
			default:
				errs <- ""
			}
		}()
	}
	for range 8 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
