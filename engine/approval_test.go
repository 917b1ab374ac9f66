package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/state"
)

// decide records a decision on addr's pending request, as ansflow approve
// does.
func (h *harness) decide(addr string, status state.ApprovalStatus, by string, at time.Time) {
	h.t.Helper()
	st, err := h.eng.Store.Read(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	req := st.Approvals[addr]
	if req == nil || req.Status != state.ApprovalPending {
		h.t.Fatalf("%s has no pending approval request: %+v", addr, req)
	}
	d := *req
	d.Status, d.By, d.Decided = status, by, at
	if err := h.eng.Store.Append(context.Background(), st.Lineage, state.Change{Approval: &d}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) approvals() *state.State {
	h.t.Helper()
	st, err := h.eng.Store.Read(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

func TestApprovalGate(t *testing.T) {
	h := newHarness(t)
	now := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	h.eng.Now = func() time.Time { return now }
	h.write(`
variable "v" {
  type    = string
  default = "1"
}
exec "build" {
  command = ["true"]
}
exec "deploy" {
  command    = ["echo", var.v]
  depends_on = [exec.build]
  approval {
    approvers = ["alice"]
    timeout   = "1h"
  }
}
exec "after" {
  command    = ["true"]
  depends_on = [exec.deploy]
}
`)
	res := h.apply(engine.Options{})
	if !slices.Equal(res.Waiting, []string{"exec.deploy"}) || !slices.Equal(res.Blocked, []string{"exec.after"}) || len(res.Failures) > 0 || res.Run.Result != "waiting" {
		t.Fatalf("first apply: waiting %v, blocked %v, failures %v, result %s", res.Waiting, res.Blocked, res.Failures, res.Run.Result)
	}
	req := h.approvals().Approvals["exec.deploy"]
	if req == nil || req.Status != state.ApprovalPending || !req.Expires.Equal(now.Add(time.Hour)) || !slices.Equal(req.Approvers, []string{"alice"}) || req.Run != 1 {
		t.Fatalf("approval request = %+v", req)
	}

	// Asking again keeps the first request (and its expiry).
	now = now.Add(10 * time.Minute)
	h.apply(engine.Options{})
	if again := h.approvals().Approvals["exec.deploy"]; !again.Requested.Equal(req.Requested) {
		t.Errorf("a second apply replaced the request: %+v", again)
	}

	h.decide("exec.deploy", state.ApprovalApproved, "alice", now)
	res = h.apply(engine.Options{})
	if !res.OK() {
		t.Fatalf("apply after approval: failures %v, waiting %v", res.Failures, res.Waiting)
	}
	st := h.approvals()
	if len(st.Approvals) != 0 || len(st.ApprovalLog) != 1 || st.ApprovalLog[0].By != "alice" {
		t.Errorf("after the run the approval should be used up and logged: %+v, %+v", st.Approvals, st.ApprovalLog)
	}

	// A new input asks again; left undecided past its timeout, it expires.
	res = h.apply(engine.Options{}, "v=2")
	if !slices.Equal(res.Waiting, []string{"exec.deploy"}) {
		t.Fatalf("changed input: waiting %v", res.Waiting)
	}
	now = now.Add(2 * time.Hour)
	res = h.apply(engine.Options{}, "v=2")
	if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Err.Error(), "expired at") || !slices.Equal(res.Skipped, []string{"exec.after"}) {
		t.Fatalf("expired request: failures %v, skipped %v", res.Failures, res.Skipped)
	}
	res = h.apply(engine.Options{}, "v=2")
	if !slices.Equal(res.Waiting, []string{"exec.deploy"}) {
		t.Errorf("after expiry the next apply should ask again: waiting %v, failures %v", res.Waiting, res.Failures)
	}

	// Rejected: the step fails, its dependent is skipped, and stays so.
	h.decide("exec.deploy", state.ApprovalRejected, "alice", now)
	for range 2 {
		res = h.apply(engine.Options{}, "v=2")
		if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Err.Error(), "rejected by alice") || !slices.Equal(res.Skipped, []string{"exec.after"}) {
			t.Fatalf("rejected: failures %v, skipped %v", res.Failures, res.Skipped)
		}
	}
}
