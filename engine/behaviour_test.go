package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/internal/providertest"
	"github.com/ansflow/ansflow/state"
	"github.com/hashicorp/hcl/v2"
)

// fakeHarness is the plan/apply harness with the programmable fake step
// types (test_object, test_run) registered and every event collected.
type fakeHarness struct {
	*harness
	pt *providertest.Fake

	mu     sync.Mutex
	events []engine.Event
}

func newFakeHarness(t *testing.T, src string) *fakeHarness {
	t.Helper()
	h := &fakeHarness{harness: newHarness(t), pt: providertest.New()}
	h.pt.Register(h.eng.Providers)
	h.eng.Observer = func(ev engine.Event) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.events = append(h.events, ev)
	}
	h.write(src)
	return h
}

// run plans and applies with o, closing nothing unless stop is closed by the
// test; apply diagnostics are returned, not fatal.
func (h *fakeHarness) run(stop <-chan struct{}, o engine.Options) (*engine.ApplyResult, hcl.Diagnostics) {
	h.t.Helper()
	p, vals, st := h.load()
	plan, diags := h.eng.Plan(context.Background(), p, st, vals, o)
	if diags.HasErrors() {
		h.t.Fatalf("plan: %s", diags.Error())
	}
	par := o.Parallelism
	if par == 0 {
		par = 4
	}
	res, diags := h.eng.Apply(context.Background(), engine.ApplyOptions{Pipeline: p, State: st, Plan: plan, Vars: vals, Parallelism: par, Stop: stop})
	if res == nil {
		h.t.Fatalf("apply returned no result: %s", diags.Error())
	}
	return res, diags
}

func (h *fakeHarness) instance(addr string) *state.Instance {
	h.t.Helper()
	st, err := h.eng.Store.Read(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return st.Instances[addr]
}

// retryMessages are the messages of the step_retry events of addr.
func (h *fakeHarness) retryMessages(addr string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, ev := range h.events {
		if ev.Type == engine.EventStepRetry && ev.Addr == addr {
			out = append(out, ev.Message)
		}
	}
	return out
}

// calls lists the fake's calls as "addr:Method".
func (h *fakeHarness) calls() []string {
	var out []string
	for _, c := range h.pt.Calls() {
		out = append(out, c.Addr+":"+c.Method)
	}
	return out
}

// checkStack checks that the stderr log of addr in run holds the stack of
// a panic in the fake's method.
func (h *fakeHarness) checkStack(run int, addr, method string) {
	h.t.Helper()
	log, err := os.ReadFile(filepath.Join(engine.LogDir(h.dir, "default", run), engine.LogFileName(addr, "stderr")))
	if err != nil || !strings.Contains(string(log), "goroutine") || !strings.Contains(string(log), "providertest.(*Fake)."+method) {
		h.t.Errorf("the stderr log of %s should hold the stack (%v):\n%s", addr, err, log)
	}
}

func failureText(res *engine.ApplyResult) string {
	var parts []string
	for _, f := range res.Failures {
		parts = append(parts, f.Err.Error())
	}
	return strings.Join(parts, "\n")
}

// TestApplyBehaviour covers what one apply does with steps that fail, retry,
// time out or panic.
func TestApplyBehaviour(t *testing.T) {
	cases := []struct {
		name  string
		src   string
		check func(t *testing.T, h *fakeHarness, res *engine.ApplyResult, diags hcl.Diagnostics)
	}{{
		name: "retry with backoff until it succeeds",
		src: `
test_run "flaky" {
  fail_times = 2
  retry {
    attempts = 3
    delay    = "1ms"
    backoff  = 3
  }
}`,
		check: func(t *testing.T, h *fakeHarness, res *engine.ApplyResult, _ hcl.Diagnostics) {
			if !res.OK() {
				t.Fatalf("failures: %s", failureText(res))
			}
			want := []string{"attempt 1 of 3 failed; retrying in 1ms", "attempt 2 of 3 failed; retrying in 3ms"}
			if got := h.retryMessages("test_run.flaky"); !slices.Equal(got, want) {
				t.Errorf("retry events = %q, want %q", got, want)
			}
			if in := h.instance("test_run.flaky"); in.Attempts != 3 || in.Status != state.StatusOK {
				t.Errorf("state: attempts %d, status %s", in.Attempts, in.Status)
			}
		},
	}, {
		name: "retry gives up after its attempts",
		src: `
test_run "flaky" {
  fail_times = 5
  message    = "still broken"
  retry {
    attempts = 2
    delay    = "1ms"
  }
}`,
		check: func(t *testing.T, h *fakeHarness, res *engine.ApplyResult, _ hcl.Diagnostics) {
			if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Err.Error(), "still broken") {
				t.Fatalf("failures: %s", failureText(res))
			}
			if in := h.instance("test_run.flaky"); in.Attempts != 2 || in.Status != state.StatusFailed || in.Error != "still broken" {
				t.Errorf("state: attempts %d, status %s, error %q", in.Attempts, in.Status, in.Error)
			}
		},
	}, {
		name: "timeout cancels the step",
		src: `
test_run "slow" {
  sleep   = "1h"
  timeout = "20ms"
}`,
		check: func(t *testing.T, h *fakeHarness, res *engine.ApplyResult, _ hcl.Diagnostics) {
			if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Err.Error(), "timed out after 20ms") {
				t.Fatalf("failures: %s", failureText(res))
			}
			if in := h.instance("test_run.slow"); in.Status != state.StatusFailed {
				t.Errorf("state status %s", in.Status)
			}
		},
	}, {
		name: "continue_on_error lets dependents run",
		src: `
test_run "soft" {
  fail_times        = 1
  continue_on_error = true
}
test_run "after" {
  depends_on = [test_run.soft]
}`,
		check: func(t *testing.T, h *fakeHarness, res *engine.ApplyResult, _ hcl.Diagnostics) {
			if !res.OK() || len(res.Tolerated) != 1 || res.Tolerated[0].Addr != "test_run.soft" {
				t.Fatalf("failures %s, tolerated %v", failureText(res), res.Tolerated)
			}
			if in := h.instance("test_run.after"); in == nil || in.Status != state.StatusOK {
				t.Errorf("dependent: %+v", in)
			}
			if res.Run.Result != "ok" || res.Run.Failed != 1 {
				t.Errorf("run record: result %s, failed %d", res.Run.Result, res.Run.Failed)
			}
		},
	}, {
		name: "a failure skips dependents",
		src: `
test_run "hard" {
  fail_times = 1
}
test_run "after" {
  depends_on = [test_run.hard]
}`,
		check: func(t *testing.T, h *fakeHarness, res *engine.ApplyResult, _ hcl.Diagnostics) {
			if len(res.Failures) != 1 || !slices.Equal(res.Skipped, []string{"test_run.after"}) || res.Run.Result != "failed" {
				t.Fatalf("failures %s, skipped %v, result %s", failureText(res), res.Skipped, res.Run.Result)
			}
		},
	}, {
		name: "partial outputs of a failure are kept",
		src: `
test_run "partial" {
  value      = "half"
  fail_times = 1
  partial    = true
}`,
		check: func(t *testing.T, h *fakeHarness, res *engine.ApplyResult, _ hcl.Diagnostics) {
			in := h.instance("test_run.partial")
			if len(res.Failures) != 1 || in.Status != state.StatusFailed || in.ExitCode == nil || *in.ExitCode != 3 ||
				!strings.Contains(string(in.Outputs), `"half"`) {
				t.Fatalf("failures %s; state %+v, outputs %s", failureText(res), in, in.Outputs)
			}
		},
	}, {
		name: "a panic in Apply fails only that step",
		src: `
test_run "boom" {
  panic = "Apply"
}
test_run "after" {
  depends_on = [test_run.boom]
}
test_run "other" {
}`,
		check: func(t *testing.T, h *fakeHarness, res *engine.ApplyResult, _ hcl.Diagnostics) {
			if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Err.Error(), "panicked in Apply: providertest: Apply was told to panic") {
				t.Fatalf("failures: %s", failureText(res))
			}
			if !slices.Equal(res.Skipped, []string{"test_run.after"}) || h.instance("test_run.other").Status != state.StatusOK {
				t.Errorf("skipped %v; the independent step should have run", res.Skipped)
			}
			h.checkStack(res.Run.Number, "test_run.boom", "Apply")
		},
	}, {
		name: "a panic in Fingerprint at apply time fails only that step",
		src: `
test_run "up" {
}
test_object "boom" {
  value = test_run.up.id
  panic = "Fingerprint"
}`,
		check: func(t *testing.T, h *fakeHarness, res *engine.ApplyResult, _ hcl.Diagnostics) {
			if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Err.Error(), "panicked in Fingerprint: providertest: Fingerprint was told to panic. This is a bug in ansflow: please report it with the stack trace from the step's stderr log") {
				t.Fatalf("failures: %s", failureText(res))
			}
			h.checkStack(res.Run.Number, "test_object.boom", "Fingerprint")
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newFakeHarness(t, c.src)
			res, diags := h.run(nil, engine.Options{})
			c.check(t, h, res, diags)
		})
	}
}
