package runlog

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/state"
)

// CriticalPath returns the chain of steps that set the run's length, first
// step first: it starts at the step that finished last and goes back, each
// time, to the dependency that finished last (the one its start waited
// for). Steps that did not run are not on it.
func (r *Run) CriticalPath() []string {
	var last *Step
	for _, s := range r.Steps {
		if !s.Finished.IsZero() && (last == nil || s.Finished.After(last.Finished)) {
			last = s
		}
	}
	var path []string
	seen := map[string]bool{}
	for s := last; s != nil && !seen[s.Addr]; {
		seen[s.Addr] = true
		path = append(path, s.Addr)
		var next *Step
		for _, d := range s.DependsOn {
			ds := r.index[d]
			if ds != nil && !ds.Finished.IsZero() && (next == nil || ds.Finished.After(next.Finished)) {
				next = ds
			}
		}
		s = next
	}
	slices.Reverse(path)
	return path
}

// FromState rebuilds what the state remembers of run number: its history
// record and the records of the steps it applied last. It is the fallback
// for runs without an events file (made by an older ansflow); steps applied
// again by a later run are not in it.
func FromState(st *state.State, number int) *Run {
	r := &Run{Header: Header{Number: number, Workspace: st.Workspace}, index: map[string]*Step{}}
	for _, rec := range st.Runs {
		if rec.Number == number {
			r.ID, r.Operation, r.Started, r.Finished, r.Result = rec.ID, rec.Operation, rec.Started, rec.Finished, rec.Result
		}
	}
	addrs := make([]string, 0, len(st.Instances))
	for a, in := range st.Instances {
		if in.Run == number {
			addrs = append(addrs, a)
		}
	}
	sort.Strings(addrs)
	for _, a := range addrs {
		in := st.Instances[a]
		s := &Step{StepHeader: StepHeader{Addr: a, Type: in.Type, DependsOn: in.Dependencies},
			Started: in.Started, Finished: in.Finished, Duration: in.Duration(), Error: in.Error, Status: StatusSucceeded}
		if in.Status == state.StatusFailed {
			s.Status = StatusFailed
		}
		for i := 1; i <= in.Attempts; i++ {
			s.Attempts = append(s.Attempts, Attempt{Number: i})
		}
		r.Steps = append(r.Steps, s)
		r.index[a] = s
	}
	return r
}

// Load returns run number of a workspace: from its events file when there is
// one, else FromState.
func Load(pipelineDir string, st *state.State, number int) (*Run, error) {
	r, _, err := Read(Path(pipelineDir, st.Workspace, number))
	if errors.Is(err, fs.ErrNotExist) {
		return FromState(st, number), nil
	}
	if err == nil {
		r.FollowRenames(st)
	}
	return r, err
}

// FollowRenames gives the steps of r the addresses they have now, after
// the moved blocks applied since (state.State.Moved), so history and
// statistics show one step under one name.
func (r *Run) FollowRenames(st *state.State) {
	if len(st.Moved) == 0 || r.index == nil {
		return
	}
	r.index = make(map[string]*Step, len(r.Steps))
	for _, s := range r.Steps {
		s.Addr = st.NameNow(s.Addr, r.Number)
		for i, d := range s.DependsOn {
			s.DependsOn[i] = st.NameNow(d, r.Number)
		}
		r.index[s.Addr] = s
	}
}

// Path is the events file of run number.
func Path(pipelineDir, workspace string, number int) string {
	return filepath.Join(engine.LogDir(pipelineDir, workspace, number), FileName)
}

// Last returns the last n runs of the state's history (all when n <= 0),
// oldest first. A damaged events file gives way to what the state knows.
func Last(pipelineDir string, st *state.State, n int) []*Run {
	recs := st.Runs
	if n > 0 && len(recs) > n {
		recs = recs[len(recs)-n:]
	}
	out := make([]*Run, 0, len(recs))
	for _, rec := range recs {
		r, err := Load(pipelineDir, st, rec.Number)
		if err != nil || r.index == nil { // damaged or empty: what the state knows
			r = FromState(st, rec.Number)
		}
		out = append(out, r)
	}
	return out
}
