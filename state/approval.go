package state

import "time"

// ApprovalStatus is where an approval request stands.
type ApprovalStatus string

const (
	ApprovalPending  ApprovalStatus = "pending"  // asked for, not decided
	ApprovalApproved ApprovalStatus = "approved" // the step may run with these inputs
	ApprovalRejected ApprovalStatus = "rejected" // the step fails with these inputs
	ApprovalExpired  ApprovalStatus = "expired"  // not decided within the timeout
)

// Approval is the approval record of one gated step instance: the request
// an apply made when it reached the step, and the decision taken on it.
// It is bound to the step's fingerprint when asked: approving allows the
// step to run with exactly those inputs.
type Approval struct {
	Addr        string         `json:"addr"`
	Fingerprint string         `json:"fingerprint"`
	Status      ApprovalStatus `json:"status"`
	Run         int            `json:"run"` // run number that asked
	Requested   time.Time      `json:"requested"`
	Expires     time.Time      `json:"expires,omitzero"` // zero: never
	Approvers   []string       `json:"approvers,omitempty"`
	By          string         `json:"by,omitempty"` // who decided
	Decided     time.Time      `json:"decided,omitzero"`
}

// Expired reports whether a pending request has outlived its timeout.
func (a *Approval) Expired(now time.Time) bool {
	return a.Status == ApprovalPending && !a.Expires.IsZero() && now.After(a.Expires)
}

// MayDecide reports whether user may approve or reject: anyone when the
// request names no approvers.
func (a *Approval) MayDecide(user string) bool {
	if len(a.Approvers) == 0 {
		return true
	}
	for _, u := range a.Approvers {
		if u == user {
			return true
		}
	}
	return false
}

// approvalLogSize is how many decisions State.ApprovalLog keeps.
const approvalLogSize = 200

// applyApproval folds an approval change into s: the record replaces the
// step's current one, and decisions are also logged for history.
func (s *State) applyApproval(a *Approval, remove string) {
	if a != nil {
		if s.Approvals == nil {
			s.Approvals = map[string]*Approval{}
		}
		s.Approvals[a.Addr] = a
		if a.Status != ApprovalPending {
			s.ApprovalLog = append(s.ApprovalLog, *a)
			if n := len(s.ApprovalLog); n > approvalLogSize {
				s.ApprovalLog = append([]Approval(nil), s.ApprovalLog[n-approvalLogSize:]...)
			}
		}
	}
	if remove != "" {
		delete(s.Approvals, remove)
	}
}
