package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/state"
)

// ApprovalWaitError is the error of a step whose approval gate is closed:
// the apply stops before it, and its dependents wait too.
type ApprovalWaitError struct {
	Addr string
	// Changed is set when an earlier approval was given for other inputs.
	Changed bool
}

func (e *ApprovalWaitError) Error() string {
	msg := fmt.Sprintf("%s is waiting for approval (ansflow approve %s)", e.Addr, e.Addr)
	if e.Changed {
		msg += "; its inputs changed since the last approval, which was for other inputs"
	}
	return msg
}

// IsApprovalWait reports whether err is a step waiting for approval.
func IsApprovalWait(err error) bool {
	var w *ApprovalWaitError
	return errors.As(err, &w)
}

// gate decides whether a step with an approval block may run now with the
// inputs of fingerprint fp. It returns nil to go ahead, an
// *ApprovalWaitError after recording a request, or the error of a failed
// step (rejected, expired).
func (a *applier) gate(in *inst, ch *Change, pol *config.ApprovalPolicy, fp string) error {
	now := a.e.now().UTC()
	a.mu.Lock()
	cur := a.st.Approvals[in.addr]
	a.mu.Unlock()
	same := cur != nil && cur.Fingerprint == fp
	switch {
	case same && cur.Status == state.ApprovalApproved:
		return nil
	case same && cur.Status == state.ApprovalRejected:
		return a.fail(in, ch, fmt.Errorf("rejected by %s at %s; change its inputs, or run `ansflow approve %s` to approve it after all",
			cur.By, cur.Decided.Format(time.RFC3339), in.addr))
	case same && cur.Expired(now):
		exp := *cur
		exp.Status, exp.Decided = state.ApprovalExpired, now
		_ = a.record(state.Change{Approval: &exp})
		return a.fail(in, ch, fmt.Errorf("its approval request of %s expired at %s without a decision; apply again to ask again",
			cur.Requested.Format(time.RFC3339), cur.Expires.Format(time.RFC3339)))
	case same && cur.Status == state.ApprovalPending:
		return a.wait(in, ch, false)
	}
	req := &state.Approval{Addr: in.addr, Fingerprint: fp, Status: state.ApprovalPending, Run: a.w.run.Number,
		Requested: now, Approvers: pol.Approvers}
	if pol.Timeout > 0 {
		req.Expires = now.Add(pol.Timeout)
	}
	if err := a.record(state.Change{Approval: req}); err != nil {
		return a.fail(in, ch, fmt.Errorf("recording its approval request: %w", err))
	}
	return a.wait(in, ch, cur != nil && !same && cur.Status == state.ApprovalApproved)
}

// wait reports a step that stops for approval.
func (a *applier) wait(in *inst, ch *Change, changed bool) error {
	err := &ApprovalWaitError{Addr: in.addr, Changed: changed}
	a.e.emit(Event{Type: EventStepEnd, Addr: in.addr, Action: ch.Action, Result: ResultSkipped, Error: err.Error()})
	return err
}

// consumeApproval forgets the approval of a step that ran successfully with
// it: the next run of the step asks again. The decision stays in the
// approval log.
func (a *applier) consumeApproval(in *inst) {
	a.mu.Lock()
	_, ok := a.st.Approvals[in.addr]
	a.mu.Unlock()
	if ok {
		_ = a.record(state.Change{RemoveApproval: in.addr})
	}
}

// splitWaiting moves the steps waiting for approval out of the failures.
func (r *ApplyResult) splitWaiting() {
	failures := r.Failures[:0]
	for _, f := range r.Failures {
		if IsApprovalWait(f.Err) {
			r.Waiting = append(r.Waiting, f.Addr)
		} else {
			failures = append(failures, f)
		}
	}
	r.Failures = failures
}
