package graph_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/graph"
	"github.com/ansflow/ansflow/providers/builtin"
)

func loadTree(t *testing.T, files map[string]string) (*config.Pipeline, string) {
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
	p, diags := builtin.Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return p, dir
}

const svcModule = `
variable "in" { default = "" }
exec "run" { command = ["echo", var.in] }
exec "idle" { command = ["true"] }
output "out" { value = exec.run.stdout }
`

// TestStepDeps: references become dependencies across module boundaries.
func TestStepDeps(t *testing.T) {
	p, _ := loadTree(t, map[string]string{
		"main.hcl": `
exec "src" { command = ["true"] }
module "a" {
  source = "./m"
  in     = exec.src.stdout
}
module "b" {
  source     = "./m"
  in         = module.a.out
  depends_on = [exec.gate]
}
exec "gate" { command = ["true"] }
exec "use" { command = ["echo", module.b.out] }
exec "all" {
  command    = ["true"]
  depends_on = [module.a]
}
`,
		"m/main.hcl": svcModule,
	})
	g, diags := graph.Build(p)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	cases := []struct {
		step string
		want []string
	}{
		{"exec.use", []string{"module.b.exec.run"}},
		{"module.a.exec.run", []string{"exec.src"}},
		{"module.a.exec.idle", nil},
		{"module.b.exec.run", []string{"module.a.exec.run", "exec.gate"}},
		{"module.b.exec.idle", []string{"exec.gate"}},
		{"exec.all", []string{"module.a.exec.run", "module.a.exec.idle"}},
	}
	for _, c := range cases {
		t.Run(c.step, func(t *testing.T) {
			n, ok := g.Index[c.step]
			if !ok {
				t.Fatalf("no node %s", c.step)
			}
			var got []string
			for _, d := range g.Deps(n) {
				got = append(got, g.Name(d))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("deps %v, want %v", got, c.want)
			}
		})
	}
}

// TestCycleThroughModules: a cycle through a module's variable and output
// is a diagnostic naming the chain, at the reference that starts it.
func TestCycleThroughModules(t *testing.T) {
	p, dir := loadTree(t, map[string]string{
		"main.hcl": `module "m" {
  source = "./m"
  in     = exec.back.stdout
}
exec "back" {
  command = ["echo", module.m.out]
}
`,
		"m/main.hcl": svcModule,
	})
	_, diags := graph.Build(p)
	if len(diags) != 1 {
		t.Fatalf("want one diagnostic, got %v", diags)
	}
	d := diags[0]
	if !strings.Contains(d.Detail, "exec.back -> module.m.exec.run -> exec.back") && !strings.Contains(d.Detail, "module.m.exec.run -> exec.back -> module.m.exec.run") {
		t.Errorf("detail %q should name the chain through the module", d.Detail)
	}
	if d.Subject == nil || !strings.HasPrefix(d.Subject.Filename, dir) || d.Subject.Start.Line < 1 || d.Subject.Start.Column < 1 {
		t.Errorf("subject %v, want file:line:col in the pipeline", d.Subject)
	}
}

// TestCycleThroughVariable: the cycle diagnostic points at the var.
// reference that closes it inside the module.
func TestCycleThroughVariable(t *testing.T) {
	p, dir := loadTree(t, map[string]string{
		"main.hcl":   "module \"m\" {\n  source = \"./m\"\n  in     = exec.back.stdout\n}\nexec \"back\" {\n  command = [\"echo\", module.m.out]\n}\n",
		"m/main.hcl": "variable \"in\" {}\nlocals { msg = \"got ${var.in}\" }\nexec \"run\" {\n  command = [\"echo\", local.msg]\n}\noutput \"out\" { value = exec.run.stdout }\n",
	})
	_, diags := graph.Build(p)
	if len(diags) != 1 {
		t.Fatalf("want one diagnostic, got %v", diags)
	}
	s := diags[0].Subject
	if s == nil {
		t.Fatal("no subject")
	}
	inModule := s.Filename == filepath.Join(dir, "m", "main.hcl") && s.Start.Line == 4 && s.Start.Column == 22
	inRoot := s.Filename == filepath.Join(dir, "main.hcl") && s.Start.Line == 6 && s.Start.Column == 22
	if !inModule && !inRoot {
		t.Errorf("subject %s, want m/main.hcl:4,22 (local.msg, which reads var.in) or main.hcl:6,22 (module.m.out)", s)
	}
}
