package views

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/hashicorp/hcl/v2"
)

// JSONVersion is the version of the -json event stream (docs/json-events.md).
const JSONVersion = 1

// JSON writes one JSON object per line. It is safe for concurrent use.
type JSON struct {
	// Schemas word the messages of apply events by step type ("Building");
	// without them every step has the generic words.
	Schemas config.Schemas

	mu  sync.Mutex
	enc *json.Encoder
	now func() time.Time
}

// NewJSON writes events to w.
func NewJSON(w io.Writer) *JSON {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSON{enc: enc, now: time.Now}
}

type envelope struct {
	Version   int       `json:"@version"`
	Timestamp time.Time `json:"@timestamp"`
	Type      string    `json:"type"`
	Message   string    `json:"@message,omitempty"`

	Change      *engine.Change         `json:"change,omitempty"`
	Summary     *jsonPlanSummary       `json:"summary,omitempty"`
	Step        *jsonStepEvent         `json:"step,omitempty"`
	Diagnostic  *jsonDiagnostic        `json:"diagnostic,omitempty"`
	Apply       *jsonApplySummary      `json:"apply,omitempty"`
	Valid       *bool                  `json:"valid,omitempty"`
	Diagnostics []jsonDiagnostic       `json:"diagnostics,omitempty"`
	Outputs     *map[string]JSONOutput `json:"outputs,omitempty"`
	Moved       *engine.Move           `json:"moved,omitempty"`
}

// JSONOutput is one pipeline output in the outputs event: Value is its JSON
// value, or the string "(sensitive value)" for a sensitive one.
type JSONOutput struct {
	Value     json.RawMessage `json:"value"`
	Type      json.RawMessage `json:"type,omitempty"`
	Sensitive bool            `json:"sensitive"`
}

type jsonPlanSummary struct {
	Create  int `json:"create"`
	Update  int `json:"update"`
	Replace int `json:"replace"`
	Delete  int `json:"delete"`
	Run     int `json:"run"`
	NoOp    int `json:"up_to_date"`
	Skip    int `json:"skipped"`
	// NotTargeted counts the steps -target left out (not in skipped).
	NotTargeted int                   `json:"not_targeted,omitempty"`
	Moved       int                   `json:"moved,omitempty"` // step instances moved blocks rename
	Changes     bool                  `json:"has_changes"`
	Outputs     []engine.OutputChange `json:"output_changes,omitempty"`
}

type jsonStepEvent struct {
	Addr       string  `json:"addr"`
	Action     string  `json:"action"`
	Message    *string `json:"message,omitempty"` // always there for log lines, even empty ones
	Stream     string  `json:"stream,omitempty"`
	Attempt    int     `json:"attempt,omitempty"`
	DurationMS float64 `json:"duration_ms,omitempty"`
	Result     string  `json:"result,omitempty"`
	Error      string  `json:"error,omitempty"`
	ID         string  `json:"id,omitempty"`
}

type jsonApplySummary struct {
	Operation   string   `json:"operation"`
	Run         int      `json:"run"`
	Result      string   `json:"result"`
	Created     int      `json:"created"`
	Updated     int      `json:"updated"`
	Ran         int      `json:"ran"`
	Moved       int      `json:"moved,omitempty"`
	Deleted     int      `json:"deleted"`
	Failed      int      `json:"failed"`
	Skipped     []string `json:"skipped,omitempty"`
	NotStarted  []string `json:"not_started,omitempty"`
	Waiting     []string `json:"waiting_for_approval,omitempty"`
	Blocked     []string `json:"blocked_by_approval,omitempty"`
	DurationMS  float64  `json:"duration_ms"`
	Interrupted bool     `json:"interrupted,omitempty"`
	// StepDurationsMS has the duration of every step that did something.
	StepDurationsMS map[string]float64 `json:"step_durations_ms,omitempty"`
}

type jsonDiagnostic struct {
	Severity string     `json:"severity"`
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *jsonRange `json:"range,omitempty"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

func (j *JSON) write(e envelope) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e.Version = JSONVersion
	e.Timestamp = j.now().UTC()
	_ = j.enc.Encode(e)
}

// Plan writes one moved event per record a moved block renames, one
// planned_change per step that does something, then a plan_summary.
func (j *JSON) Plan(p *engine.Plan) {
	for i := range p.Moves {
		j.write(envelope{Type: "moved", Moved: &p.Moves[i], Message: MoveLine(p.Moves[i])})
	}
	for _, c := range p.Changes {
		if c.Action.Changes() {
			jc := *c
			jc.Reasons = Reasons(c)
			j.write(envelope{Type: "planned_change", Change: &jc, Message: ChangeLine(c)})
		}
	}
	s := p.Summary()
	j.write(envelope{Type: "plan_summary", Message: SummaryLine(p), Summary: &jsonPlanSummary{
		Create: s.Create, Update: s.Update, Replace: s.Replace, Delete: s.Delete, Run: s.Run, NoOp: s.NoOp,
		Skip: s.Skip - NotTargeted(p), NotTargeted: NotTargeted(p), Changes: p.HasChanges(), Outputs: p.Outputs,
		Moved: len(p.Moves),
	}})
}

// Event writes one apply event. Its @message is the line the plain view
// prints for it.
func (j *JSON) Event(ev engine.Event) {
	step := &jsonStepEvent{
		Addr: ev.Addr, Action: ev.Action.String(), Stream: ev.Stream, Attempt: ev.Attempt,
		DurationMS: milliseconds(ev.Duration), Result: string(ev.Result), Error: ev.Error, ID: ev.ID,
	}
	if ev.Message != "" || ev.Type == engine.EventStepLog {
		step.Message = &ev.Message
	}
	j.write(envelope{Type: string(ev.Type), Message: eventMessage(ev, Style{Schemas: j.Schemas}), Step: step})
}

// eventMessage is the human line of an apply event, without colour.
func eventMessage(ev engine.Event, s Style) string {
	switch ev.Type {
	case engine.EventStepStart:
		return ev.Addr + ": " + s.verbs(addrType(ev.Addr), ev.Action).doing + "..."
	case engine.EventStepRetry:
		return retryLine(ev, s)
	case engine.EventStepEnd:
		return endLine(ev, s)
	case engine.EventStepLog:
		return ev.Addr + " (" + ev.Stream + "): " + ev.Message
	}
	return ev.Addr + ": " + ev.Message
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ApplySummary writes the apply_summary event that ends an apply (destroy
// false) or a destroy.
func (j *JSON) ApplySummary(r *engine.ApplyResult, destroy bool) {
	op := "apply"
	if destroy {
		op = "destroy"
	}
	var steps map[string]float64
	if len(r.Durations) > 0 {
		steps = make(map[string]float64, len(r.Durations))
		for addr, d := range r.Durations {
			steps[addr] = milliseconds(d)
		}
	}
	j.write(envelope{Type: "apply_summary", Message: ApplySummaryLine(r, destroy), Apply: &jsonApplySummary{
		Operation: op, Run: r.Run.Number, Result: r.Run.Result, Created: r.Run.Created, Updated: r.Run.Updated, Ran: r.Run.Ran, Moved: r.Run.Moved,
		Deleted: r.Run.Deleted, Failed: len(r.Failures) + len(r.Tolerated), Skipped: r.Skipped, NotStarted: r.NotStarted,
		DurationMS: milliseconds(r.Run.Finished.Sub(r.Run.Started)), Interrupted: r.Interrupted, StepDurationsMS: steps,
		Waiting: r.Waiting, Blocked: r.Blocked,
	}})
}

// Outputs writes the outputs event that ends apply -json: the pipeline's
// outputs as the state now records them (even when there is none).
func (j *JSON) Outputs(outputs map[string]JSONOutput) {
	if outputs == nil {
		outputs = map[string]JSONOutput{}
	}
	j.write(envelope{Type: "outputs", Message: fmt.Sprintf("Outputs: %d", len(outputs)), Outputs: &outputs})
}

// Error writes a failure that is not an HCL diagnostic (a lock held, a
// stale plan, a bad flag) as a diagnostic event: summary is its first
// line, detail the rest.
func (j *JSON) Error(msg string) {
	msg = strings.TrimPrefix(strings.TrimSpace(msg), "Error: ")
	summary, detail, _ := strings.Cut(msg, "\n")
	j.Diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: strings.TrimSpace(detail)}})
}

// Diagnostics writes each diagnostic as its own event.
func (j *JSON) Diagnostics(diags hcl.Diagnostics) {
	for _, d := range diags {
		jd := DiagnosticJSON(d)
		j.write(envelope{Type: "diagnostic", Diagnostic: &jd, Message: d.Summary})
	}
}

// Validate writes the result of validate: valid flag and all diagnostics.
func (j *JSON) Validate(diags hcl.Diagnostics) {
	valid := !diags.HasErrors()
	list := make([]jsonDiagnostic, 0, len(diags))
	for _, d := range diags {
		list = append(list, DiagnosticJSON(d))
	}
	msg := "The pipeline is valid."
	if errs := len(diags.Errs()); errs > 0 {
		msg = fmt.Sprintf("The pipeline is not valid: %d error(s).", errs)
	}
	j.write(envelope{Type: "validate", Message: msg, Valid: &valid, Diagnostics: list})
}

// DiagnosticJSON converts a diagnostic to its JSON form.
func DiagnosticJSON(d *hcl.Diagnostic) jsonDiagnostic {
	d = config.RedactDiagnostics(hcl.Diagnostics{d})[0]
	jd := jsonDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
	if d.Severity == hcl.DiagWarning {
		jd.Severity = "warning"
	}
	if d.Subject != nil {
		r := d.Subject
		jd.Range = &jsonRange{Filename: r.Filename,
			Start: jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte},
			End:   jsonPos{r.End.Line, r.End.Column, r.End.Byte}}
	}
	return jd
}
