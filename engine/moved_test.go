package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/state"
)

// TestMovedBlocks: a pipeline is applied, then changed and given moved
// blocks; the plan lists the moves and changes nothing, the apply calls no
// provider to create, update, run or delete, and the state has the new
// addresses, with dependents' records pointing at them.
func TestMovedBlocks(t *testing.T) {
	cases := []struct {
		name          string
		before, after string
		moves         []engine.Move
		want          []string          // instance addresses in state after
		deps          map[string]string // a record's dependency after the move
	}{
		{
			name: "rename a step",
			before: `
test_object "a" { value = "1" }
test_run "b" { value = test_object.a.value }`,
			after: `
test_object "renamed" { value = "1" }
test_run "b" { value = test_object.renamed.value }
moved {
  from = test_object.a
  to   = test_object.renamed
}`,
			moves: []engine.Move{{From: "test_object.a", To: "test_object.renamed"}},
			want:  []string{"test_object.renamed", "test_run.b"},
			deps:  map[string]string{"test_run.b": "test_object.renamed"},
		},
		{
			name: "rename a for_each key",
			before: `
test_run "x" {
  for_each = toset(["a", "c"])
  value    = "v"
}`,
			after: `
test_run "x" {
  for_each = toset(["b", "c"])
  value    = "v"
}
moved {
  from = test_run.x["a"]
  to   = test_run.x["b"]
}`,
			moves: []engine.Move{{From: `test_run.x["a"]`, To: `test_run.x["b"]`}},
			want:  []string{`test_run.x["b"]`, `test_run.x["c"]`},
		},
		{
			name:   "unkeyed to keyed",
			before: `test_run "x" { value = "v" }`,
			after: `
test_run "x" {
  for_each = toset(["k"])
  value    = "v"
}
moved {
  from = test_run.x
  to   = test_run.x["k"]
}`,
			moves: []engine.Move{{From: "test_run.x", To: `test_run.x["k"]`}},
			want:  []string{`test_run.x["k"]`},
		},
		{
			name: "keyed to unkeyed",
			before: `
test_run "x" {
  for_each = toset(["k"])
  value    = "v"
}`,
			after: `
test_run "x" { value = "v" }
moved {
  from = test_run.x["k"]
  to   = test_run.x
}`,
			moves: []engine.Move{{From: `test_run.x["k"]`, To: "test_run.x"}},
			want:  []string{"test_run.x"},
		},
		{
			name: "a whole for_each step keeps its keys",
			before: `
test_object "x" {
  for_each = toset(["a", "b"])
  value    = each.key
}
test_run "after" { value = join(",", [for o in test_object.x : o.value]) }`,
			after: `
test_object "y" {
  for_each = toset(["a", "b"])
  value    = each.key
}
test_run "after" { value = join(",", [for o in test_object.y : o.value]) }
moved {
  from = test_object.x
  to   = test_object.y
}`,
			moves: []engine.Move{{From: `test_object.x["a"]`, To: `test_object.y["a"]`}, {From: `test_object.x["b"]`, To: `test_object.y["b"]`}},
			want:  []string{`test_object.y["a"]`, `test_object.y["b"]`, "test_run.after"},
			deps:  map[string]string{"test_run.after": "test_object.y"},
		},
		{
			name:   "a chain",
			before: `test_object "a" { value = "1" }`,
			after: `
test_object "c" { value = "1" }
moved {
  from = test_object.b
  to   = test_object.c
}
moved {
  from = test_object.a
  to   = test_object.b
}`,
			moves: []engine.Move{{From: "test_object.a", To: "test_object.c"}},
			want:  []string{"test_object.c"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newFakeHarness(t, c.before)
			h.apply(engine.Options{Refresh: true})
			h.write(c.after)
			before := len(h.pt.Calls())
			plan := h.plan(engine.Options{Refresh: true})
			if !slices.Equal(plan.Moves, c.moves) {
				t.Fatalf("plan moves = %v, want %v", plan.Moves, c.moves)
			}
			for _, ch := range plan.Changes {
				if ch.Action.Changes() {
					t.Errorf("plan changes %s: %s %v", ch.Addr, ch.Action, ch.Reasons)
				}
			}
			if !plan.HasChanges() {
				t.Error("a plan with moves must have changes (apply records them)")
			}
			res := h.apply(engine.Options{Refresh: true})
			if !res.OK() || res.Run.Moved != len(c.moves) {
				t.Fatalf("apply: %s, moved %d", failureText(res), res.Run.Moved)
			}
			for _, call := range h.pt.Calls()[before:] {
				if call.Method != "Read" {
					t.Errorf("the moved apply called %s on %s", call.Method, call.Addr)
				}
			}
			st := h.approvals()
			var got []string
			for addr := range st.Instances {
				got = append(got, addr)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("state has %v, want %v", got, c.want)
			}
			for addr, dep := range c.deps {
				if in := st.Instances[addr]; in == nil || !slices.Contains(in.Dependencies, dep) {
					t.Errorf("%s depends on %v, want %s", addr, in.Dependencies, dep)
				}
			}
			// The moved blocks stay: with nothing left at from, they do nothing.
			again := h.plan(engine.Options{Refresh: true})
			if again.HasChanges() || len(again.Moves) != 0 {
				t.Errorf("plan after the moved apply: moves %v, changes %v", again.Moves, again.Changes)
			}
		})
	}
}

// TestMovedRefused: moves that cannot be made are diagnostics at plan time,
// and a destination that already has a record is a warning.
func TestMovedRefused(t *testing.T) {
	cases := []struct {
		name, before, after, want string
		warning                   bool
	}{
		{
			name: "from still configured",
			before: `
test_run "x" {
  for_each = toset(["a"])
  value    = "v"
}`,
			after: `
test_run "x" {
  for_each = toset(["a", "b"])
  value    = "v"
}
moved {
  from = test_run.x["a"]
  to   = test_run.x["b"]
}`,
			want: `main.hcl:7,10-25: Moved step still exists; test_run.x["a"] is still in the configuration`,
		},
		{
			name: "instances to one instance",
			before: `
test_run "x" {
  for_each = toset(["a", "b"])
  value    = "v"
}`,
			after: `
test_run "y" {
  for_each = toset(["a"])
  value    = "v"
}
moved {
  from = test_run.x
  to   = test_run.y["a"]
}`,
			want: "Cannot move instances to one instance; The step test_run.x has 2 instances in the state",
		},
		{
			name: "destination taken",
			before: `
test_run "x" { value = "v" }
test_run "y" { value = "v" }`,
			after: `
test_run "y" { value = "v" }
moved {
  from = test_run.x
  to   = test_run.y
}`,
			want:    "Moved target already in the state; test_run.y already has a record",
			warning: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newFakeHarness(t, c.before)
			h.apply(engine.Options{})
			h.write(c.after)
			p, vals, st := h.load()
			plan, diags := h.eng.Plan(context.Background(), p, st, vals, engine.Options{})
			text := ""
			for _, d := range diags {
				text += d.Error() + "\n"
			}
			text = strings.ReplaceAll(text, h.dir+"/", "")
			if !strings.Contains(text, c.want) {
				t.Fatalf("diagnostics:\n%s\nwant %q", text, c.want)
			}
			if c.warning != (plan != nil && !diags.HasErrors()) {
				t.Fatalf("warning %v, but plan %v, errors %v", c.warning, plan != nil, diags.HasErrors())
			}
			if c.warning && len(plan.Moves) != 0 {
				t.Errorf("a skipped block moved %v", plan.Moves)
			}
		})
	}
}

// TestMovedSavedPlan: a saved plan applies exactly its moves, its checksum
// covers them, and it is refused once the state changed.
func TestMovedSavedPlan(t *testing.T) {
	h := newFakeHarness(t, `test_run "a" { value = "v" }`)
	h.apply(engine.Options{})
	h.write(`
test_run "b" { value = "v" }
moved {
  from = test_run.a
  to   = test_run.b
}`)
	plan := h.plan(engine.Options{})
	data, err := engine.EncodePlan(plan)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"to": "test_run.b"`, `"to": "test_run.c"`, 1)
	if _, err := engine.DecodePlan("p.plan", []byte(edited)); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("edited moves: %v, want a checksum mismatch", err)
	}
	saved, err := engine.DecodePlan("p.plan", data)
	if err != nil || len(saved.Moves) != 1 {
		t.Fatalf("decode: %v, moves %v", err, saved.Moves)
	}
	p, vals, st := h.load()
	res, diags := h.eng.Apply(context.Background(), engine.ApplyOptions{Pipeline: p, State: st, Plan: saved, Vars: vals, Parallelism: 2})
	if diags.HasErrors() || !res.OK() {
		t.Fatalf("apply: %s", diags.Error())
	}
	if in := h.instance("test_run.b"); in == nil || in.Run != 1 {
		t.Fatalf("test_run.b after the apply: %+v (want the record of run 1)", in)
	}
	if st := h.approvals(); st.Instances["test_run.a"] != nil || len(st.Moved) != 1 || st.Moved[0] != (state.Rename{From: "test_run.a", To: "test_run.b", Run: 2}) {
		t.Errorf("state: a %v, renames %v", st.Instances["test_run.a"], st.Moved)
	}
	p, vals, st = h.load()
	if _, diags := h.eng.Apply(context.Background(), engine.ApplyOptions{Pipeline: p, State: st, Plan: saved, Vars: vals, Parallelism: 2}); !diags.HasErrors() || !strings.Contains(diags.Error(), "stale") {
		t.Errorf("applying the plan again: %v, want a stale plan", diags)
	}
}

// TestMovedAndChanged: a step renamed and changed at once is updated in
// place at its new address, never deleted and created again.
func TestMovedAndChanged(t *testing.T) {
	h := newFakeHarness(t, `test_object "a" { value = "1" }`)
	h.apply(engine.Options{Refresh: true})
	h.write(`
test_object "b" { value = "2" }
moved {
  from = test_object.a
  to   = test_object.b
}`)
	plan := h.plan(engine.Options{Refresh: true})
	if ch := findChange(plan, "test_object.b"); ch == nil || ch.Action != engine.Update || ch.MovedFrom != "test_object.a" || findChange(plan, "test_object.a") != nil {
		t.Fatalf("plan: %+v", plan.Changes)
	}
	before := len(h.pt.Calls())
	h.apply(engine.Options{Refresh: true})
	var got []string
	for _, c := range h.pt.Calls()[before:] {
		got = append(got, fmt.Sprintf("%s:%s:%v", c.Addr, c.Method, c.Action))
	}
	if want := []string{fmt.Sprintf("test_object.b:Apply:%v", providers.Update)}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if in := h.instance("test_object.b"); in == nil || !strings.Contains(string(in.Inputs), `"2"`) || h.instance("test_object.a") != nil {
		t.Errorf("state after the apply: b %+v", in)
	}
}
