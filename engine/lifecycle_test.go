package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/state"
)

const chainPipeline = `
variable "key" {
  default = "a"
}
variable "fail_delete" {
  default = false
}
test_object "base" {
  key         = var.key
  fail_delete = var.fail_delete
}
test_object "mid" {
  value = test_object.base.id
}
test_object "top" {
  value = test_object.mid.id
}
test_object "lone" {
}
`

// TestReplace: a ForceNew change deletes the old object, then creates the
// new one; when the delete fails nothing is created and the state keeps the
// old object so it can still be deleted.
func TestReplace(t *testing.T) {
	cases := []struct {
		name       string
		first      []string // variables of the first apply
		calls      []string // the fake's calls in the second apply
		failure    string
		wantOutput string // base's id in state after the second apply
	}{
		{name: "delete then create", calls: []string{"test_object.base:Delete", "test_object.base:Apply"}, wantOutput: "test_object.base/b"},
		{name: "failing delete", first: []string{"fail_delete=true"}, calls: []string{"test_object.base:Delete"},
			failure: "deleting the old object before replacing it: the object refuses to be deleted", wantOutput: "test_object.base/a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newFakeHarness(t, chainPipeline)
			h.apply(engine.Options{}, c.first...)
			before := len(h.pt.Calls())
			plan := h.plan(engine.Options{}, append(c.first, "key=b")...)
			if ch := findChange(plan, "test_object.base"); ch == nil || ch.Action != engine.Replace {
				t.Fatalf("plan for base: %+v", ch)
			}
			res := h.apply(engine.Options{}, append(c.first, "key=b")...)
			var got []string
			for _, call := range h.pt.Calls()[before:] {
				if call.Addr == "test_object.base" {
					got = append(got, call.Addr+":"+call.Method)
				}
			}
			if !slices.Equal(got, c.calls) {
				t.Errorf("calls = %v, want %v", got, c.calls)
			}
			in := h.instance("test_object.base")
			if !strings.Contains(string(in.Outputs), c.wantOutput) {
				t.Errorf("state outputs %s, want id %s", in.Outputs, c.wantOutput)
			}
			if c.failure == "" {
				if !res.OK() || !h.pt.Exists("test_object.base") {
					t.Fatalf("failures: %s", failureText(res))
				}
				return
			}
			if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Err.Error(), c.failure) || in.Status != state.StatusFailed {
				t.Fatalf("failures %s, status %s", failureText(res), in.Status)
			}
			if !slices.Equal(res.Skipped, []string{"test_object.mid", "test_object.top"}) {
				t.Errorf("skipped %v", res.Skipped)
			}
		})
	}
}

func findChange(p *engine.Plan, addr string) *engine.Change {
	for _, c := range p.Changes {
		if c.Addr == addr {
			return c
		}
	}
	return nil
}

// TestDestroyOrder: destroy deletes dependents before what they depend on.
func TestDestroyOrder(t *testing.T) {
	h := newFakeHarness(t, chainPipeline)
	h.apply(engine.Options{})
	before := len(h.pt.Calls())
	res, diags := h.run(nil, engine.Options{Destroy: true, Parallelism: 4})
	if diags.HasErrors() || !res.OK() {
		t.Fatalf("destroy: %s %s", diags.Error(), failureText(res))
	}
	order := map[string]int{}
	for i, c := range h.pt.Calls()[before:] {
		if c.Method != "Delete" {
			t.Errorf("destroy called %s on %s", c.Method, c.Addr)
		}
		order[c.Addr] = i
	}
	if len(order) != 4 || order["test_object.top"] > order["test_object.mid"] || order["test_object.mid"] > order["test_object.base"] {
		t.Errorf("delete order %v: top must go before mid, mid before base", h.calls()[before:])
	}
	if st := h.approvals(); len(st.Instances) != 0 {
		t.Errorf("state still has %d instances", len(st.Instances))
	}
}

// TestTarget: -target applies the step and what it depends on, nothing else.
func TestTarget(t *testing.T) {
	cases := []struct {
		target string
		want   []string
	}{
		{"test_object.mid", []string{"test_object.base", "test_object.mid"}},
		{"test_object.lone", []string{"test_object.lone"}},
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			h := newFakeHarness(t, chainPipeline)
			res, diags := h.run(nil, engine.Options{Targets: []string{c.target}})
			if diags.HasErrors() || !res.OK() {
				t.Fatalf("apply: %s %s", diags.Error(), failureText(res))
			}
			got := h.calls()
			slices.Sort(got)
			var want []string
			for _, a := range c.want {
				want = append(want, a+":Apply")
			}
			if !slices.Equal(got, want) {
				t.Errorf("applied %v, want %v", got, want)
			}
		})
	}
}

// TestStop: closing stop while the first step runs lets it finish and be
// recorded, and starts nothing more.
func TestStop(t *testing.T) {
	h := newFakeHarness(t, `
test_run "first" {
  sleep = "20ms"
}
test_run "second" {
  depends_on = [test_run.first]
}
test_run "third" {
  depends_on = [test_run.first]
}
`)
	stop := make(chan struct{})
	var once sync.Once
	h.pt.OnApply = func(string) { once.Do(func() { close(stop) }) }
	res, diags := h.run(stop, engine.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if !res.Interrupted || res.Run.Result != "interrupted" || len(res.Failures) != 0 {
		t.Fatalf("interrupted %v, result %s, failures %s", res.Interrupted, res.Run.Result, failureText(res))
	}
	if !slices.Equal(res.NotStarted, []string{"test_run.second", "test_run.third"}) {
		t.Errorf("not started %v", res.NotStarted)
	}
	if got := h.calls(); !slices.Equal(got, []string{"test_run.first:Apply"}) {
		t.Errorf("calls %v", got)
	}
	if in := h.instance("test_run.first"); in == nil || in.Status != state.StatusOK {
		t.Errorf("the running step should finish and be recorded: %+v", in)
	}
}

// failingStore fails Append of the instance record of one address.
type failingStore struct {
	state.Store
	addr string
}

func (s *failingStore) Append(ctx context.Context, lineage string, c state.Change) error {
	if c.Instance != nil && c.Instance.Addr == s.addr {
		return errors.New("disk full")
	}
	return s.Store.Append(ctx, lineage, c)
}

// TestAppendFailure: a step whose record cannot be saved fails, its
// dependents do not run, and the apply reports the state error.
func TestAppendFailure(t *testing.T) {
	h := newFakeHarness(t, `
test_run "first" {
}
test_run "second" {
  depends_on = [test_run.first]
}
`)
	h.eng.Store = &failingStore{Store: h.eng.Store, addr: "test_run.first"}
	res, diags := h.run(nil, engine.Options{})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Cannot record a step in the state") || !strings.Contains(diags.Error(), "disk full") {
		t.Errorf("diagnostics: %s", diags.Error())
	}
	if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Err.Error(), "the step finished but its result could not be saved: disk full") {
		t.Fatalf("failures: %s", failureText(res))
	}
	if !slices.Equal(res.Skipped, []string{"test_run.second"}) {
		t.Errorf("skipped %v", res.Skipped)
	}
}

// TestPlanPanic: a provider that panics while planning gives an error for
// that step, not a crash.
func TestPlanPanic(t *testing.T) {
	for _, method := range []string{"Fingerprint", "Validate", "Read"} {
		t.Run(method, func(t *testing.T) {
			h := newFakeHarness(t, `
variable "panic" {
  default = ""
}
test_object "boom" {
  panic = var.panic
}
`)
			h.apply(engine.Options{})
			p, _, st := h.load()
			vals, _ := p.ResolveVariables(config.VarInputs{Args: []config.VarArg{{Name: "panic", Value: method}}})
			_, diags := h.eng.Plan(context.Background(), p, st, vals, engine.Options{Refresh: true})
			if !diags.HasErrors() || !strings.Contains(diags.Error(), "panicked in "+method) {
				t.Fatalf("diagnostics: %s", diags.Error())
			}
		})
	}
}

// TestDestroyFailure: an object whose delete fails or panics stays in the
// state, and the apply goes on with what does not depend on it.
func TestDestroyFailure(t *testing.T) {
	cases := []struct {
		name, src, failure string
		stack              bool // the stderr log holds a stack
	}{
		{"failing delete", `fail_delete = true`, "the object refuses to be deleted", false},
		{"panicking delete", `panic = "Delete"`, "panicked in Delete: providertest: Delete was told to panic", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newFakeHarness(t, "test_object \"stuck\" {\n  "+c.src+"\n}\ntest_object \"fine\" {\n}\n")
			h.apply(engine.Options{})
			res, _ := h.run(nil, engine.Options{Destroy: true})
			if len(res.Failures) != 1 || res.Failures[0].Addr != "test_object.stuck" || !strings.Contains(res.Failures[0].Err.Error(), c.failure) {
				t.Fatalf("failures: %s", failureText(res))
			}
			if c.stack {
				h.checkStack(res.Run.Number, "test_object.stuck", "Delete")
			}
			st := h.approvals()
			if st.Instances["test_object.stuck"] == nil || st.Instances["test_object.fine"] != nil {
				t.Errorf("after destroy the state should hold only the stuck object: %v", st.Instances)
			}
		})
	}
}
