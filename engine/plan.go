// Package engine turns a validated pipeline and its stored state into a plan
// (what will be created, updated, replaced, deleted or run, and why) and
// applies a plan by walking the step graph in parallel, recording every
// finished step in state as it goes.
package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PlanFormatVersion is the version of the saved plan format this build
// writes. A plan file with a higher version is refused, and so is one of an
// older version (it does not record what the plan was made from).
const PlanFormatVersion = 2

// Action is what the plan does with one step instance.
type Action int

const (
	NoOp    Action = iota // up to date
	Create                // declarative: not there yet
	Update                // declarative: change in place
	Replace               // declarative: delete and create again
	Delete                // declarative: remove; run-to-completion: forget
	Run                   // run-to-completion: run again
	Skip                  // when = false, or left out by -target
)

var actionNames = [...]string{"no-op", "create", "update", "replace", "delete", "run", "skip"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Changes reports whether the action does anything.
func (a Action) Changes() bool { return a != NoOp && a != Skip }

// MarshalText encodes the action by name.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes an action name.
func (a *Action) UnmarshalText(b []byte) error {
	for i, n := range actionNames {
		if n == string(b) {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("unknown plan action %q", b)
}

// Plan is a serialisable description of what an apply will do. It records
// the state it was made against, so a stale plan is refused.
type Plan struct {
	FormatVersion int       `json:"format_version"`
	Created       time.Time `json:"created"`
	Workspace     string    `json:"workspace"`
	Lineage       string    `json:"lineage"`
	Serial        uint64    `json:"serial"`
	RunNumber     int       `json:"run_number"` // run.number the apply will have
	RunID         string    `json:"run_id"`     // run.id the apply will have

	Destroy bool     `json:"destroy,omitempty"`
	Refresh bool     `json:"refresh"`
	Targets []string `json:"targets,omitempty"`
	Replace []string `json:"replace,omitempty"`

	// Variables are the values the plan was made with. Sensitive values
	// are not stored, only a hash: they must be supplied again to apply.
	Variables map[string]PlanVariable `json:"variables,omitempty"`
	// Sources are hashes of the pipeline files; applying a plan whose
	// files changed since is refused.
	Sources map[string]string `json:"sources"`
	// Builtins are the values read from outside the configuration
	// (env("X"), git.*, run.*, file("f") ...) by the steps, in display
	// form; sensitive ones and long ones only as hashes.
	Builtins map[string]string `json:"builtins,omitempty"`

	// Moves are the step instances whose records moved blocks rename
	// (applied before the changes, which use the new addresses).
	Moves   []Move    `json:"moves,omitempty"`
	Changes []*Change `json:"changes"`
	// Outputs are the changes to the pipeline's outputs (display only).
	Outputs []OutputChange `json:"output_changes,omitempty"`
	// Bindings are what each configured instance's change was planned
	// from, by address.
	Bindings map[string]*Binding `json:"bindings,omitempty"`

	// Checksum is the SHA-256 of the plan encoded without it (EncodePlan);
	// a plan file whose content does not match it is refused.
	Checksum string `json:"checksum,omitempty"`
}

// PlanVariable is one variable value recorded in a plan.
type PlanVariable struct {
	Value     json.RawMessage `json:"value,omitempty"`
	Type      json.RawMessage `json:"type,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
	Hash      string          `json:"hash,omitempty"`
}

// Change is the planned action for one step instance, with its reasons.
type Change struct {
	Addr        string  `json:"addr"`
	Step        string  `json:"step"` // type.name
	Type        string  `json:"type"`
	Key         *string `json:"key,omitempty"`
	Action      Action  `json:"action"`
	Declarative bool    `json:"declarative"`
	// Why are the reasons of the change as data (package views makes
	// their sentences). Reasons are the same as text, one sentence
	// fragment each, when a caller filled them in (views.ExplainPlan), or
	// the only reasons of a plan written before reasons were data.
	Why         []Reason     `json:"why,omitempty"`
	Reasons     []string     `json:"reasons,omitempty"`
	Attrs       []AttrChange `json:"attrs,omitempty"`
	Fingerprint string       `json:"fingerprint,omitempty"` // "" when known only after apply
	DependsOn   []string     `json:"depends_on,omitempty"`
	MovedFrom   string       `json:"moved_from,omitempty"` // its address in the state, when a moved block renames it
}

// Binding is what the change of one configured instance was planned from,
// so that apply can refuse the plan when anything differs.
type Binding struct {
	// Inputs are the evaluated inputs: sensitive values as hashes, parts
	// known only after apply as {"ansflow:unknown":true}. Absent when the
	// step is skipped.
	Inputs json.RawMessage `json:"inputs,omitempty"`
	// Files are the content hashes of what the step reads (build context,
	// sources), when its inputs were known.
	Files     map[string]string `json:"files,omitempty"`
	WhenFalse bool              `json:"when_false,omitempty"`
	// References are the names each attribute reads (var.x, env("X"),
	// docker_build.app.ref, ...); Values their display forms, sensitive
	// ones only as hashes.
	References map[string][]string `json:"references,omitempty"`
	Values     map[string]string   `json:"values,omitempty"`
}

// AttrChange is one attribute whose value changes, in display form.
type AttrChange struct {
	Path      string  `json:"path"`
	Before    *string `json:"before,omitempty"`
	After     *string `json:"after,omitempty"`
	Unknown   bool    `json:"unknown,omitempty"`   // after is known only after apply
	Sensitive bool    `json:"sensitive,omitempty"` // values hidden
	ForceNew  bool    `json:"force_new,omitempty"` // forces replacement
	Drift     bool    `json:"drift,omitempty"`     // changed outside ansflow
	Removed   bool    `json:"removed,omitempty"`   // an object the apply deletes; Before says why
}

// Summary counts the plan's actions.
type Summary struct {
	Create, Update, Replace, Delete, Run, NoOp, Skip int
}

// Summary counts the actions in p.
func (p *Plan) Summary() Summary {
	var s Summary
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			s.Create++
		case Update:
			s.Update++
		case Replace:
			s.Replace++
		case Delete:
			s.Delete++
		case Run:
			s.Run++
		case NoOp:
			s.NoOp++
		case Skip:
			s.Skip++
		}
	}
	return s
}

// HasChanges reports whether applying p would do anything: change a step
// or record a move.
func (p *Plan) HasChanges() bool {
	if len(p.Moves) > 0 {
		return true
	}
	for _, c := range p.Changes {
		if c.Action.Changes() {
			return true
		}
	}
	return false
}

// Change returns the planned change of addr, or nil.
func (p *Plan) Change(addr string) *Change {
	for _, c := range p.Changes {
		if c.Addr == addr {
			return c
		}
	}
	return nil
}

// EncodePlan encodes p for a plan file, with the checksum of its content.
func EncodePlan(p *Plan) ([]byte, error) {
	sum, err := p.checksum()
	if err != nil {
		return nil, err
	}
	c := *p
	c.Checksum = sum
	data, err := json.MarshalIndent(&c, "", " ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// checksum is the SHA-256 of p encoded without its checksum.
func (p *Plan) checksum() (string, error) {
	c := *p
	c.Checksum = ""
	data, err := json.Marshal(&c)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// DecodePlan parses a saved plan, refusing other formats and plans whose
// content does not match their checksum.
func DecodePlan(name string, data []byte) (*Plan, error) {
	var probe struct {
		FormatVersion int `json:"format_version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s is not an ansflow plan file (it is not JSON%s); save a plan with `ansflow plan -out=FILE`", name, jsonOffset(data, err))
	}
	if probe.FormatVersion > PlanFormatVersion {
		return nil, fmt.Errorf("%s was written by a newer ansflow (plan format %d; this build reads up to %d); apply it with that version or make a new plan", name, probe.FormatVersion, PlanFormatVersion)
	}
	if probe.FormatVersion < 1 {
		return nil, fmt.Errorf("%s is not an ansflow plan file (no format_version)", name)
	}
	if probe.FormatVersion < PlanFormatVersion {
		return nil, fmt.Errorf("%s was written by an older ansflow (plan format %d) that did not record what the plan was made from; make a new plan", name, probe.FormatVersion)
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s is damaged: %s", name, jsonErrorPosition(data, err))
	}
	if sum, err := p.checksum(); err != nil || p.Checksum == "" || sum != p.Checksum {
		return nil, fmt.Errorf("plan file %s is corrupted: checksum mismatch (it was changed after it was written); make a new plan", name)
	}
	if p.Sources == nil || p.Lineage == "" && p.Serial != 0 {
		return nil, fmt.Errorf("%s is damaged: it has no record of the pipeline files or state it was made for", name)
	}
	if slices.Contains(p.Changes, nil) {
		return nil, fmt.Errorf("%s is damaged: a change in it is null; make a new plan", name)
	}
	return &p, nil
}

// jsonOffset is ", at line L, column C" for a syntax error, else "".
func jsonOffset(data []byte, err error) string {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return ""
	}
	pos := jsonErrorPosition(data, err)
	if i := strings.Index(pos, ": "); i > 0 {
		return ", at " + pos[:i]
	}
	return ""
}

// jsonErrorPosition renders a JSON decoding error with line:col when it has
// an offset.
func jsonErrorPosition(data []byte, err error) string {
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	}
	if off < 0 {
		return err.Error()
	}
	// Offset counts the bytes read, including the offending one.
	line, col := 1, 1
	for i := int64(0); i < off-1 && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d: %s", line, col, err)
}
