package runlog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ansflow/ansflow/engine"
)

// FileName is the name of the events file in a run's log directory
// (engine.LogDir).
const FileName = "events.jsonl"

// Version of the events file lines (the same as the -json stream's).
const Version = 1

// Header describes a run; it is the first line of the file.
type Header struct {
	Number    int          `json:"number"`
	ID        string       `json:"id,omitempty"`
	Operation string       `json:"operation"` // apply | destroy
	Workspace string       `json:"workspace"`
	TraceID   string       `json:"trace_id,omitempty"`
	Steps     []StepHeader `json:"steps"`
}

// StepHeader is one step instance of the plan.
type StepHeader struct {
	Addr      string   `json:"addr"`
	Type      string   `json:"type"`
	Action    string   `json:"action"`
	Reasons   []string `json:"reasons,omitempty"`
	DependsOn []string `json:"depends_on,omitempty"`
}

// line is one line of the file. Step events have the shape of the -json
// stream's.
type line struct {
	Version   int          `json:"@version"`
	Timestamp time.Time    `json:"@timestamp"`
	Type      string       `json:"type"`
	Run       *Header      `json:"run,omitempty"`
	Step      *stepEvent   `json:"step,omitempty"`
	Apply     *applyResult `json:"apply,omitempty"`
}

type stepEvent struct {
	Addr       string  `json:"addr"`
	Action     string  `json:"action"`
	Message    string  `json:"message,omitempty"`
	Attempt    int     `json:"attempt,omitempty"`
	DurationMS float64 `json:"duration_ms,omitempty"`
	Result     string  `json:"result,omitempty"`
	Error      string  `json:"error,omitempty"`
	ID         string  `json:"id,omitempty"`
}

type applyResult struct {
	Operation   string  `json:"operation"`
	Run         int     `json:"run"`
	Result      string  `json:"result"`
	DurationMS  float64 `json:"duration_ms"`
	Interrupted bool    `json:"interrupted,omitempty"`
}

// Recorder appends a run's events to its file. It is safe for concurrent
// use; a write error is kept and reported by Close, never by Event (an
// apply does not stop because its record cannot be written).
type Recorder struct {
	mu   sync.Mutex
	f    *os.File
	enc  *json.Encoder
	err  error
	now  func() time.Time
	path string
}

// HeaderFromPlan lists the plan's steps for a run's header.
func HeaderFromPlan(p *engine.Plan, number int, operation string) Header {
	h := Header{Number: number, Operation: operation, Workspace: p.Workspace, Steps: make([]StepHeader, 0, len(p.Changes))}
	for _, c := range p.Changes {
		h.Steps = append(h.Steps, StepHeader{Addr: c.Addr, Type: c.Type, Action: c.Action.String(), Reasons: c.Reasons, DependsOn: c.DependsOn})
	}
	return h
}

// Create starts the events file of a run in dir (the run's log directory)
// and writes its header. An existing file is replaced: a run number is
// used once, unless a run died before it recorded anything.
func Create(dir string, h Header) (*Recorder, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the run's log directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the run's events file: %w", err)
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	r := &Recorder{f: f, enc: enc, now: time.Now, path: path}
	r.write(line{Type: TypeRunStart, Run: &h})
	return r, r.err
}

// Line types of the file besides the step events.
const (
	TypeRunStart     = "run_start"
	TypeApplySummary = "apply_summary"
)

func (r *Recorder) write(l line) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil || r.f == nil {
		return
	}
	l.Version = Version
	if l.Timestamp.IsZero() {
		l.Timestamp = r.now()
	}
	l.Timestamp = l.Timestamp.UTC()
	// One Write per line: a reader never sees half of one, except the
	// last while it is being written.
	r.err = r.enc.Encode(l)
}

// Event records one engine event; log lines are left out.
func (r *Recorder) Event(ev engine.Event) {
	if ev.Type == engine.EventStepLog {
		return
	}
	r.write(line{Type: string(ev.Type), Timestamp: ev.Time, Step: &stepEvent{
		Addr: ev.Addr, Action: ev.Action.String(), Message: ev.Message, Attempt: ev.Attempt,
		DurationMS: float64(ev.Duration) / float64(time.Millisecond), Result: string(ev.Result), Error: ev.Error, ID: ev.ID,
	}})
}

// Finish records the end of the run. A nil result (the apply could not
// start) is recorded as failed.
func (r *Recorder) Finish(res *engine.ApplyResult, operation string) {
	a := &applyResult{Operation: operation, Result: "failed"}
	if res != nil {
		a.Run, a.Result, a.Interrupted = res.Run.Number, res.Run.Result, res.Interrupted
		a.DurationMS = float64(res.Run.Finished.Sub(res.Run.Started)) / float64(time.Millisecond)
	}
	r.write(line{Type: TypeApplySummary, Apply: a})
}

// Close closes the file and reports the first error met writing it.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return r.err
	}
	cerr := r.f.Close()
	r.f = nil
	if r.err == nil && cerr != nil {
		r.err = cerr
	}
	if r.err != nil {
		return fmt.Errorf("writing %s: %w", r.path, r.err)
	}
	return nil
}
