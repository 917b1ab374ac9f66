package runlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Status of a step in a run, as the dashboard colours it.
type Status string

const (
	StatusUpToDate   Status = "up_to_date" // nothing to do
	StatusPlanned    Status = "planned"    // to do, not started (and the run is over, or not begun)
	StatusWaiting    Status = "waiting"    // to do, the run is going, its turn has not come
	StatusRunning    Status = "running"
	StatusSucceeded  Status = "succeeded"
	StatusFailed     Status = "failed"
	StatusSkipped    Status = "skipped" // when = false, left out by -target, or upstream failed
	StatusNotStarted Status = "not_started"
)

// Attempt is one try of a step.
type Attempt struct {
	Number   int       `json:"number"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Error    string    `json:"error,omitempty"`
}

// Step is what a run did with one step instance.
type Step struct {
	StepHeader
	Status   Status        `json:"status"`
	Started  time.Time     `json:"started,omitzero"`
	Finished time.Time     `json:"finished,omitzero"`
	Duration time.Duration `json:"duration"`
	Attempts []Attempt     `json:"attempts,omitempty"`
	Error    string        `json:"error,omitempty"`
	ID       string        `json:"id,omitempty"`
	Progress string        `json:"progress,omitempty"`
}

// Retried reports whether the step needed more than one attempt.
func (s *Step) Retried() bool { return len(s.Attempts) > 1 }

// Run is a run folded from its events file.
type Run struct {
	Header
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Result is running until the summary line is read: ok, failed,
	// interrupted.
	Result string  `json:"result"`
	Steps  []*Step `json:"steps"`
	index  map[string]*Step
}

// Step returns the step with address addr, or nil.
func (r *Run) Step(addr string) *Step { return r.index[addr] }

// Done reports whether the run's last line was read.
func (r *Run) Done() bool { return r.Result != "running" && r.Result != "" }

// Event is one decoded line of the file, for followers.
type Event struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	Step *Step     `json:"step,omitempty"` // the step after the event
	Run  string    `json:"run_result,omitempty"`
}

// ErrNoHeader is returned for a file that does not start with a run_start line.
var ErrNoHeader = errors.New("the events file has no run_start line")

// Fold applies one line to the run and returns what changed. The first
// line must be the header.
func (r *Run) Fold(data []byte) (Event, error) {
	var l line
	if err := json.Unmarshal(data, &l); err != nil {
		return Event{}, fmt.Errorf("reading an event: %w", err)
	}
	if l.Version > Version {
		return Event{}, fmt.Errorf("the events file has version %d; this ansflow reads up to %d, upgrade it", l.Version, Version)
	}
	ev := Event{Type: l.Type, Time: l.Timestamp}
	if l.Type == TypeRunStart {
		if l.Run == nil {
			return ev, ErrNoHeader
		}
		r.start(*l.Run, l.Timestamp)
		return ev, nil
	}
	if r.index == nil {
		return ev, ErrNoHeader
	}
	if l.Type == TypeApplySummary && l.Apply != nil {
		r.finish(l.Apply.Result, l.Timestamp)
		ev.Run = r.Result
		return ev, nil
	}
	if l.Step == nil {
		return ev, nil // a line type this version does not know
	}
	s := r.index[l.Step.Addr]
	if s == nil {
		s = &Step{StepHeader: StepHeader{Addr: l.Step.Addr, Action: l.Step.Action}, Status: StatusPlanned}
		r.index[s.Addr] = s
		r.Steps = append(r.Steps, s)
	}
	s.apply(l.Type, l.Timestamp, l.Step)
	ev.Step = s
	return ev, nil
}

func (r *Run) start(h Header, t time.Time) {
	r.Header, r.Started, r.Result = h, t, "running"
	r.Steps = make([]*Step, 0, len(h.Steps))
	r.index = make(map[string]*Step, len(h.Steps))
	for _, sh := range h.Steps {
		s := &Step{StepHeader: sh, Status: initialStatus(sh.Action)}
		r.Steps = append(r.Steps, s)
		r.index[s.Addr] = s
	}
}

func (r *Run) finish(result string, t time.Time) {
	r.Result, r.Finished = result, t
	for _, s := range r.Steps {
		switch s.Status {
		case StatusRunning: // killed without a step_end
			s.Status = StatusNotStarted
		}
	}
}

func initialStatus(action string) Status {
	switch action {
	case "no-op":
		return StatusUpToDate
	case "skip":
		return StatusSkipped
	}
	return StatusPlanned
}

func (s *Step) apply(typ string, t time.Time, e *stepEvent) {
	switch typ {
	case "step_start":
		s.Status, s.Started = StatusRunning, t
		s.Attempts = append(s.Attempts[:0], Attempt{Number: 1, Started: t})
	case "step_progress":
		s.Progress = e.Message
	case "step_retry":
		if n := len(s.Attempts); n > 0 {
			s.Attempts[n-1].Finished, s.Attempts[n-1].Error = t, e.Error
		}
		s.Attempts = append(s.Attempts, Attempt{Number: e.Attempt, Started: t})
	case "step_end":
		s.Error, s.ID = e.Error, e.ID
		s.Duration = time.Duration(e.DurationMS * float64(time.Millisecond))
		if !s.Started.IsZero() { // skipped and unchanged steps never started: no place in time
			s.Finished = t
		}
		if n := len(s.Attempts); n > 0 {
			s.Attempts[n-1].Finished, s.Attempts[n-1].Error = t, e.Error
		}
		switch e.Result {
		case "ok":
			s.Status = StatusSucceeded
		case "unchanged":
			s.Status = StatusUpToDate
		case "skipped":
			s.Status = StatusSkipped
		case "not_started":
			s.Status = StatusNotStarted
		default:
			s.Status = StatusFailed
		}
	}
}

// Read folds a whole events file. A last line cut short (the apply is
// writing it) is left for the next read; Offset says where that is.
func Read(path string) (*Run, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r := &Run{}
	n, err := r.Follow(f, nil)
	return r, n, err
}

// Follow folds every complete line of rd into the run, calling each (if
// not nil) with what each line changed, and returns the bytes consumed.
func (r *Run) Follow(rd io.Reader, each func(Event)) (int64, error) {
	br := bufio.NewReaderSize(rd, 64<<10)
	var consumed int64
	for {
		data, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long := append([]byte(nil), data...)
			for err == bufio.ErrBufferFull {
				data, err = br.ReadSlice('\n')
				long = append(long, data...)
			}
			data = long
		}
		if err == io.EOF {
			return consumed, nil // a partial line stays unread
		}
		if err != nil {
			return consumed, err
		}
		consumed += int64(len(data))
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		ev, ferr := r.Fold(data)
		if ferr != nil {
			return consumed, ferr
		}
		if each != nil {
			each(ev)
		}
	}
}

// View returns the status a viewer sees: a planned step of a run still
// going is waiting.
func (r *Run) View(s *Step) Status {
	if s.Status == StatusPlanned && !r.Done() {
		return StatusWaiting
	}
	return s.Status
}
