package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/views"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

const bindingPipeline = `
variable "v" {
  default = "1"
}
variable "on" {
  type    = bool
  default = true
}
exec "deploy" {
  command = ["sh", "-c", "echo ${env("TARGET")} ${var.v} ${file("notes.txt")} > out.txt"]
}
exec "maybe" {
  when    = var.on
  command = ["true"]
}
exec "ids" {
  command = ["sh", "-c", "echo ${run.number} ${run.id} > ids.txt"]
}
exec "built" {
  command = ["true"]
  sources = ["src.txt"]
}
`

// TestSavedPlanBinds changes what a plan read between plan and apply and
// checks that apply refuses the plan before anything runs, naming the
// step, the attribute and the cause.
func TestSavedPlanBinds(t *testing.T) {
	cases := []struct {
		name   string
		change func(h *harness, plan *engine.Plan, env map[string]string)
		want   string // "" : the plan applies
	}{
		{name: "nothing changed"},
		{
			name:   "env() changed",
			change: func(_ *harness, _ *engine.Plan, env map[string]string) { env["TARGET"] = "production" },
			want:   `exec.deploy: command changed since the plan was made (env("TARGET"))`,
		},
		{
			name: "file() changed",
			change: func(h *harness, _ *engine.Plan, _ map[string]string) {
				writeFile(t, filepath.Join(h.dir, "notes.txt"), "other")
			},
			want: `exec.deploy: command changed since the plan was made (file("notes.txt"))`,
		},
		{
			name: "a file in sources changed",
			change: func(h *harness, _ *engine.Plan, _ map[string]string) {
				writeFile(t, filepath.Join(h.dir, "src.txt"), "v2")
			},
			want: `exec.built: the contents of sources changed since the plan was made`,
		},
		{
			name: "a variable edited inside the plan, checksum recomputed",
			change: func(_ *harness, plan *engine.Plan, _ map[string]string) {
				setVar(t, plan, "v", "v3; touch TAMPERED")
			},
			want: `exec.deploy: command changed since the plan was made (var.v)`,
		},
		{
			name: "a variable of when edited inside the plan",
			change: func(_ *harness, plan *engine.Plan, _ map[string]string) {
				plan.Variables["on"] = engine.PlanVariable{Value: []byte("false"), Type: []byte(`"bool"`)}
			},
			want: `exec.maybe: when changed since the plan was made (var.on)`,
		},
		{
			name: "an action edited inside the plan",
			change: func(_ *harness, plan *engine.Plan, _ map[string]string) {
				plan.Change("exec.ids").Action = engine.Delete
			},
			want: `exec.ids: the plan would delete it, but it is configured`,
		},
		{
			name: "recorded inputs edited inside the plan",
			change: func(_ *harness, plan *engine.Plan, _ map[string]string) {
				c := plan.Bindings["exec.ids"]
				c.Inputs = []byte(strings.Replace(string(c.Inputs), "echo", "rm -rf", 1))
			},
			want: `exec.ids: command changed since the plan was made`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			env := map[string]string{"TARGET": "staging"}
			h.eng.Getenv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
			h.write(bindingPipeline)
			writeFile(t, filepath.Join(h.dir, "notes.txt"), "hello")
			writeFile(t, filepath.Join(h.dir, "src.txt"), "v1")
			plan := h.plan(engine.Options{})
			if tc.change != nil {
				tc.change(h, plan, env)
			}
			// Through the file format, as apply PLANFILE reads it.
			data, err := engine.EncodePlan(plan)
			if err != nil {
				t.Fatal(err)
			}
			plan, err = engine.DecodePlan("p.plan", data)
			if err != nil {
				t.Fatal(err)
			}
			p, fresh, st := h.load()
			vars, err := plan.VariablesFromPlan(fresh, func(string) bool { return false })
			if err != nil {
				t.Fatal(err)
			}
			res, diags := h.eng.Apply(context.Background(), engine.ApplyOptions{Pipeline: p, State: st, Plan: plan, Vars: vars, Parallelism: 2})
			if tc.want == "" {
				if diags.HasErrors() || !res.OK() {
					t.Fatalf("apply: %s %+v", diags.Error(), res)
				}
				ids, _ := os.ReadFile(filepath.Join(h.dir, "ids.txt"))
				if want := "1 " + plan.RunID + "\n"; string(ids) != want || plan.RunID == "" {
					t.Errorf("run.number and run.id at apply: got %q, want the plan's %q", ids, want)
				}
				return
			}
			if res != nil || len(diags) != 1 {
				t.Fatalf("apply ran; want it refused with %q (diags: %s)", tc.want, diags.Error())
			}
			err = engine.DiagnosticError(diags[0])
			var se *engine.StalePlanError
			if !errors.Is(err, engine.ErrStalePlan) || !errors.As(err, &se) {
				t.Fatalf("want a *StalePlanError, got %T %v", err, err)
			}
			if se.Error() != tc.want {
				t.Errorf("got  %q\nwant %q", se.Error(), tc.want)
			}
			if _, err := os.Stat(filepath.Join(h.dir, "out.txt")); err == nil {
				t.Error("a step ran although the plan was refused")
			}
			if st2, _ := h.eng.Store.Read(context.Background()); st2.Serial != st.Serial || len(st2.Runs) != 0 {
				t.Errorf("the refused plan wrote the state: serial %d, runs %d", st2.Serial, len(st2.Runs))
			}
		})
	}
}

func TestPlanFileChecksum(t *testing.T) {
	h := newHarness(t)
	h.write(bindingPipeline)
	writeFile(t, filepath.Join(h.dir, "notes.txt"), "hello")
	writeFile(t, filepath.Join(h.dir, "src.txt"), "v1")
	data, err := engine.EncodePlan(h.plan(engine.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.DecodePlan("p.plan", data); err != nil {
		t.Fatalf("a plan as written does not decode: %v", err)
	}
	for name, edit := range map[string]func(string) string{
		"a value changed":     func(s string) string { return strings.Replace(s, `"run_number": 1`, `"run_number": 2`, 1) },
		"a key changed":       func(s string) string { return strings.Replace(s, `"workspace"`, `"workspaces"`, 1) },
		"the checksum erased": func(s string) string { return strings.Replace(s, `"checksum": "sha256:`, `"checksum": "x`, 1) },
	} {
		t.Run(name, func(t *testing.T) {
			edited := edit(string(data))
			if edited == string(data) {
				t.Fatal("the edit changed nothing")
			}
			_, err := engine.DecodePlan("p.plan", []byte(edited))
			if err == nil || !strings.Contains(err.Error(), "plan file p.plan is corrupted: checksum mismatch") {
				t.Fatalf("got %v, want a checksum mismatch", err)
			}
		})
	}
	old := strings.Replace(string(data), `"format_version": 2`, `"format_version": 1`, 1)
	if _, err := engine.DecodePlan("p.plan", []byte(old)); err == nil || !strings.Contains(err.Error(), "older ansflow") {
		t.Fatalf("a format 1 plan: got %v, want it refused as older", err)
	}
}

func TestReasonsNameCauses(t *testing.T) {
	h := newHarness(t)
	env := map[string]string{"TARGET": "staging"}
	h.eng.Getenv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	h.write(`
variable "b_input" {
  type    = string
  default = "1"
}
variable "pw" {
  default   = "hunter22"
  sensitive = true
}
locals {
  where = env("TARGET")
}
exec "a" {
  command = ["echo", local.where]
}
exec "b" {
  command = ["echo", var.b_input]
}
exec "c" {
  command = ["echo", "${env("TARGET")}-${var.b_input}"]
  env     = { PW = var.pw }
}
`)
	h.apply(engine.Options{})
	env["TARGET"] = "production"
	p, vals, st := h.load("b_input=9")
	vals["pw"] = cty.StringVal("other-secret").Mark(config.Sensitive)
	plan, diags := h.eng.Plan(context.Background(), p, st, vals, engine.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for addr, want := range map[string]string{
		"exec.a": `command changed (local.where: "staging" -> "production")`,
		"exec.b": `command changed (var.b_input: "1" -> "9")`,
		"exec.c": `command, env.PW changed (env("TARGET"): "staging" -> "production", var.b_input: "1" -> "9", var.pw: (sensitive value) -> (sensitive value))`,
	} {
		got := strings.Join(views.Reasons(plan.Change(addr)), "; ")
		if got != want {
			t.Errorf("%s:\n got  %s\n want %s", addr, got, want)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func setVar(t *testing.T, plan *engine.Plan, name, value string) {
	t.Helper()
	b, err := ctyjson.Marshal(cty.StringVal(value), cty.String)
	if err != nil {
		t.Fatal(err)
	}
	plan.Variables[name] = engine.PlanVariable{Value: b, Type: []byte(`"string"`)}
}

// TestReferencesKeepWhatInputsDoNotShow checks that a value a step reads
// but does not show in its inputs (a key whose hash is used) is recorded in
// plans and the state only as a hash.
func TestReferencesKeepWhatInputsDoNotShow(t *testing.T) {
	h := newHarness(t)
	h.write(`
exec "k" {
  command = ["echo", sha256(file("key.txt"))]
}
`)
	const key = "TOP-SECRET-KEY-1"
	writeFile(t, filepath.Join(h.dir, "key.txt"), key)
	data, err := engine.EncodePlan(h.plan(engine.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), key) {
		t.Errorf("the plan file holds the file's contents:\n%s", data)
	}
	h.apply(engine.Options{})
	stateFiles, _ := filepath.Glob(filepath.Join(h.dir, ".ansflow", "state", "*"))
	for _, f := range stateFiles {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), key) {
			t.Errorf("%s holds the file's contents", f)
		}
	}
	writeFile(t, filepath.Join(h.dir, "key.txt"), "another key")
	got := strings.Join(views.Reasons(h.plan(engine.Options{}).Change("exec.k")), "; ")
	if !strings.Contains(got, `command changed (file("key.txt"): (hash `) {
		t.Errorf("reason: got %q, want the file named with hashes", got)
	}
}
