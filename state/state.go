package state

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// FormatVersion is the version of the state file format this build writes.
// A state with a higher version is refused, never misread.
const FormatVersion = 1

// Status of an instance after its last apply.
type Status string

const (
	StatusOK     Status = "ok"
	StatusFailed Status = "failed"
)

// State is everything recorded for one workspace.
type State struct {
	FormatVersion int    `json:"format_version"`
	Lineage       string `json:"lineage"` // random id fixed when the state is first created
	Serial        uint64 `json:"serial"`  // grows by one on every change written
	Workspace     string `json:"workspace"`
	// RunNumber is the number of the last apply started in this workspace
	// (run.number in the language).
	RunNumber int `json:"run_number"`

	Instances map[string]*Instance `json:"instances"` // by address
	Outputs   map[string]Output    `json:"outputs,omitempty"`
	Runs      []Run                `json:"runs,omitempty"` // history, oldest first

	// Approvals are the approval requests and decisions of gated steps,
	// by address; ApprovalLog the decisions taken, oldest first.
	Approvals   map[string]*Approval `json:"approvals,omitempty"`
	ApprovalLog []Approval           `json:"approval_log,omitempty"`

	// Moved are the renames `moved` blocks made, oldest first, so that
	// logs and history of earlier runs follow the new addresses (at most
	// MaxRenames).
	Moved []Rename `json:"moved,omitempty"`
}

// Instance is the record of one step instance.
type Instance struct {
	Addr   string `json:"addr"` // docker_build.app["api"]
	Type   string `json:"type"`
	Status Status `json:"status"`
	// Fingerprint is a hash of the evaluated inputs and the content hashes
	// of files they point at; equal fingerprints mean nothing changed.
	Fingerprint string `json:"fingerprint"`
	// Inputs and Outputs are cty values in JSON form. Sensitive values are
	// never stored: they are replaced by "(sensitive:hmac-sha256:<hex>)", a
	// hash keyed with the workspace's key (HashKeyer); older states hold
	// "(sensitive:sha256:<hex>)".
	Inputs       json.RawMessage   `json:"inputs,omitempty"`
	Outputs      json.RawMessage   `json:"outputs,omitempty"`
	Private      json.RawMessage   `json:"private,omitempty"`
	FileHashes   map[string]string `json:"file_hashes,omitempty"`
	Dependencies []string          `json:"dependencies,omitempty"` // direct dependencies, by address
	// References are the values its inputs read when it was last applied
	// (var.x, env("X"), docker_build.app.ref, ...), in display form;
	// sensitive ones only as "(sensitive:sha256:<hex>)". Plans use them to
	// say which of them changed.
	References map[string]string `json:"references,omitempty"`

	Run      int       `json:"run"` // run number that last applied it
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Attempts int       `json:"attempts"`
	ExitCode *int      `json:"exit_code,omitempty"`
	Error    string    `json:"error,omitempty"`
	// Tolerated marks a failure of a step with continue_on_error: the run
	// carried on, so the failure is its accepted result and the next plan
	// does not run it again for having failed.
	Tolerated bool `json:"tolerated,omitempty"`
}

// Duration of the last apply of the instance.
func (i *Instance) Duration() time.Duration { return i.Finished.Sub(i.Started) }

// Output is a pipeline output value after the last apply.
type Output struct {
	Value     json.RawMessage `json:"value"`
	Type      json.RawMessage `json:"type"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// Run is one apply or destroy, for `ansflow history`.
type Run struct {
	Number    int       `json:"number"`
	ID        string    `json:"id"`
	Operation string    `json:"operation"` // apply | destroy
	User      string    `json:"user"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Result    string    `json:"result"` // ok | failed | interrupted | running
	Created   int       `json:"created"`
	Updated   int       `json:"updated"`
	Ran       int       `json:"ran"`
	Deleted   int       `json:"deleted"`
	Failed    int       `json:"failed"`
	Moved     int       `json:"moved,omitempty"` // instances renamed by moved blocks
}

// New returns an empty state with a fresh lineage.
func New(workspace string) *State {
	return &State{
		FormatVersion: FormatVersion,
		Lineage:       newLineage(),
		Workspace:     workspace,
		Instances:     map[string]*Instance{},
	}
}

// Change is one update recorded during an apply: an instance written or
// removed, an output set, or the run record updated. Exactly one of the
// fields is set (Remove names an address to delete).
type Change struct {
	Instance *Instance         `json:"instance,omitempty"`
	Remove   string            `json:"remove,omitempty"`
	Outputs  map[string]Output `json:"outputs,omitempty"` // replaces all outputs
	Run      *Run              `json:"run,omitempty"`     // replaces the run with the same number, or appends
	// RunNumber, when non-zero, sets State.RunNumber.
	RunNumber int `json:"run_number,omitempty"`
	// Approval replaces the approval record of its step;
	// RemoveApproval names a step whose record is deleted.
	Approval       *Approval `json:"approval,omitempty"`
	RemoveApproval string    `json:"remove_approval,omitempty"`
	// Moves rename instance records (see State.Rename), before anything
	// else in the change; the renames are recorded for the run RunNumber
	// (or the current one).
	Moves []Move `json:"moves,omitempty"`
}

// Apply folds c into s. It does not touch the serial.
func (s *State) Apply(c Change) {
	if s.Instances == nil {
		s.Instances = map[string]*Instance{}
	}
	if len(c.Moves) > 0 {
		run := c.RunNumber
		if run == 0 {
			run = s.RunNumber
		}
		s.Rename(c.Moves, run)
	}
	if c.Instance != nil {
		s.Instances[c.Instance.Addr] = c.Instance
	}
	if c.Remove != "" {
		delete(s.Instances, c.Remove)
	}
	if c.Outputs != nil {
		s.Outputs = c.Outputs
	}
	if c.RunNumber != 0 {
		s.RunNumber = c.RunNumber
	}
	s.applyApproval(c.Approval, c.RemoveApproval)
	if c.Run != nil {
		for i := range s.Runs {
			if s.Runs[i].Number == c.Run.Number {
				s.Runs[i] = *c.Run
				return
			}
		}
		s.Runs = append(s.Runs, *c.Run)
	}
}

// Store keeps the state of one workspace. Every store passes the
// conformance test in storetest.
type Store interface {
	// Read returns the current state, or a New one when there is none.
	// A state from a newer format version is an error.
	Read(ctx context.Context) (*State, error)
	// Write replaces the stored state with s, atomically, setting s.Serial
	// to one more than the stored serial. Readers see the old or the new
	// state, never a mixture.
	Write(ctx context.Context, s *State) error
	// Append records one change on top of the stored state, cheaply (no
	// rewrite of the whole state), durable against a crash of the process
	// once it returns; it bumps the serial. The lineage must match.
	Append(ctx context.Context, lineage string, c Change) error
	// Lock takes the workspace lock for the holder described by info. It
	// fails at once with a *LockedError naming the holder, or waits while
	// ctx allows when wait is true. The lock is released by Unlock or when
	// the process dies.
	Lock(ctx context.Context, info LockInfo, wait bool) (*Lock, error)
	// ForceUnlock removes a lock left by holder id.
	ForceUnlock(ctx context.Context, id string) error
}

// LockInfo says who holds a lock.
type LockInfo struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"`
	Who       string    `json:"who"` // user@host
	PID       int       `json:"pid"`
	Version   string    `json:"version"`
	Created   time.Time `json:"created"`
	Path      string    `json:"path,omitempty"`
}

// Lock is a held lock; Unlock releases it.
type Lock struct {
	Info    LockInfo
	release func() error
}

// NewLock is for store implementations.
func NewLock(info LockInfo, release func() error) *Lock {
	return &Lock{Info: info, release: release}
}

// Unlock releases the lock. Calling it twice is harmless.
func (l *Lock) Unlock() error {
	if l == nil || l.release == nil {
		return nil
	}
	r := l.release
	l.release = nil
	return r()
}

// LockedError is returned when another run holds the lock.
type LockedError struct {
	Holder LockInfo
}

func (e *LockedError) Error() string {
	h := e.Holder
	return fmt.Sprintf("the state is locked by another run: ID %s, %s by %s (pid %d) since %s.\n"+
		"Wait for it to finish, pass -lock-timeout=DURATION to wait, or if that run is gone, run: ansflow force-unlock %s",
		h.ID, h.Operation, h.Who, h.PID, h.Created.Format(time.RFC3339), h.ID)
}

// RunInterrupted is the result of a run whose process ended without
// recording its end (killed with SIGKILL, a crash, a machine restart).
const RunInterrupted = "interrupted"

// StaleRuns returns the runs still marked "running", as changes that mark
// them interrupted. Only the holder of the workspace lock may call it: with
// the lock held, no run can still be going on.
func (s *State) StaleRuns() []Change {
	var out []Change
	for _, r := range s.Runs {
		if r.Result == "running" {
			r.Result = RunInterrupted
			out = append(out, Change{Run: &r})
		}
	}
	return out
}
