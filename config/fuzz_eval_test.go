package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// evalFuzzPipeline is the fixed pipeline FuzzEvalStep evaluates; %EXPR% is
// replaced by the fuzzed expression, used in a local, a step's env and
// for_each, and an output.
const evalFuzzPipeline = `variable "v" {
  type    = string
  default = ""
}
variable "secret" {
  type      = string
  sensitive = true
  default   = "s3cret"
}
locals {
  l = %EXPR%
}
exec "up" {
  command = ["true"]
}
exec "x" {
  command = ["echo", var.v]
  env     = { A = local.l, B = %EXPR% }
}
exec "each" {
  for_each = toset([for k in %EXPR% : tostring(k)])
  command  = ["echo", each.key, exec.up.stdout]
}
output "o" {
  value = %EXPR%
}
`

// evalWatchdog bounds the time one FuzzEvalStep input may take.
const evalWatchdog = 20 * time.Second

// FuzzEvalStep evaluates a fuzzed expression in every place a step can hold
// one, with fuzzed values for a variable and an upstream step's stdout: the
// evaluator must never panic and must point every diagnostic at the file.
func FuzzEvalStep(f *testing.F) {
	for _, s := range [][3]string{
		{`"plain"`, "x", "out"},
		{`upper(var.v)`, "abc", ""},
		{`exec.up.stdout`, "", "line\n"},
		{`jsondecode(exec.up.stdout)`, "", `{"a":[1,2,{"b":null}]}`},
		{`yamldecode(var.v)`, "a: [1, 2", ""},
		{`format("%d", var.v)`, "12x", ""},
		{`{ for k, v in jsondecode(var.v) : k => v }`, `{"a":1}`, ""},
		{`[for s in split(",", var.v) : tonumber(s)]`, "1,2,x", ""},
		{`var.secret`, "", ""},
		{`regex(var.v, exec.up.stdout)`, "(", "x"},
		{`1 / 0`, "", ""},
		{`tolist(var.v)`, "", ""},
		{`range(var.v)`, "1e9", ""},
		{`"${var.v}%{ if var.v == "" }empty%{ endif }"`, "", ""},
		{`env("HOME")`, "", ""},
		{`file(var.v)`, "/etc/passwd", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, expr, v, stdout string) {
		// A tiny pipeline must evaluate quickly whatever it says: report an
		// input that takes longer than the watchdog as a failure, so the
		// fuzzer keeps it.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(evalWatchdog):
				panic(fmt.Sprintf("evaluating expression %q (v=%q, stdout=%q) took more than %s", expr, v, stdout, evalWatchdog))
			}
		}()
		dir := t.TempDir()
		src := strings.ReplaceAll(evalFuzzPipeline, "%EXPR%", expr)
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		p, diags := Load(dir)
		if diags.HasErrors() {
			checkSubjects(t, diags)
			return
		}
		vals, d := p.ResolveVariables(VarInputs{Args: []VarArg{{Name: "v", Value: v}}})
		if diags = append(diags, d...); diags.HasErrors() {
			checkSubjects(t, diags)
			return
		}
		s, d := NewScope(p, ScopeOptions{Vars: vals, Workspace: "default", Getenv: func(string) (string, bool) { return "", false }})
		if diags = append(diags, d...); diags.HasErrors() {
			checkSubjects(t, diags)
			return
		}
		steps := StepValues{"exec": {"up": cty.ObjectVal(map[string]cty.Value{
			"exit_code": cty.NumberIntVal(0),
			"stdout":    cty.StringVal(stdout),
			"stderr":    cty.StringVal(""),
		})}}
		for _, st := range p.StepOrder {
			keys, _, d := s.ForEach(st)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			if keys == nil {
				_, _, d = s.EvalStep(st, NoKey, steps)
				diags = append(diags, d...)
			}
			for _, k := range keys {
				_, _, d = s.EvalStep(st, StringKey(k), steps)
				diags = append(diags, d...)
			}
		}
		_, d = s.EvalOutputs(steps)
		checkSubjects(t, append(diags, d...))
	})
}

// checkSubjects fails the test for a diagnostic that points nowhere.
func checkSubjects(t *testing.T, diags hcl.Diagnostics) {
	t.Helper()
	for _, d := range diags {
		if d.Subject == nil {
			t.Errorf("diagnostic without subject: %s", d.Error())
		}
	}
}
