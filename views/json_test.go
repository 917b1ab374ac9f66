package views

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/internal/jsonschema"
	"github.com/ansflow/ansflow/providers/builtin"
	"github.com/ansflow/ansflow/state"
	"github.com/hashicorp/hcl/v2"
)

// loadEventSchema reads the documented schema of the -json stream.
func loadEventSchema(t *testing.T) (*jsonschema.Schema, []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "docs", "json-events.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jsonschema.Parse(data)
	if err != nil {
		t.Fatalf("docs/json-events.schema.json: %v", err)
	}
	var doc struct {
		Properties struct {
			Type struct {
				Enum []string `json:"enum"`
			} `json:"type"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return s, doc.Properties.Type.Enum
}

// writeEveryEvent writes one event of every type the JSON view knows.
func writeEveryEvent(j *JSON) {
	p := samplePlan()
	p.Moves = []engine.Move{{From: "exec.old", To: "exec.compile"}}
	j.Plan(p)
	j.Event(engine.Event{Type: engine.EventStepStart, Addr: "docker_build.app", Action: engine.Create})
	j.Event(engine.Event{Type: engine.EventStepProgress, Addr: "docker_build.app", Action: engine.Create, Message: "Step 2/4 : COPY . ."})
	j.Event(engine.Event{Type: engine.EventStepLog, Addr: "docker_build.app", Action: engine.Create, Stream: "stdout", Message: ""})
	j.Event(engine.Event{Type: engine.EventStepRetry, Addr: "docker_build.app", Action: engine.Create, Attempt: 2, Message: "attempt 1 of 3 failed; retrying in 2s", Error: "connection reset"})
	j.Event(engine.Event{Type: engine.EventStepEnd, Addr: "docker_build.app", Action: engine.Create, Attempt: 2, Result: engine.ResultOK, Duration: 31 * time.Second, ID: "sha256:1a2b3c4d5e6f"})
	j.Event(engine.Event{Type: engine.EventStepEnd, Addr: "exec.test", Action: engine.Run, Attempt: 1, Result: engine.ResultFailed, Duration: 2 * time.Second, Error: "exited with code 1 (expected 0)", ID: "exit=1"})
	j.Event(engine.Event{Type: engine.EventStepEnd, Addr: "exec.after", Action: engine.Run, Result: engine.ResultSkipped, Error: "skipped because exec.test failed"})
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	j.Diagnostics(hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Deprecated attribute", Detail: "Use tags instead.",
		Subject: &hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 3, Column: 3, Byte: 40}, End: hcl.Pos{Line: 3, Column: 6, Byte: 43}}}})
	j.ApplySummary(&engine.ApplyResult{
		Run:       state.Run{Number: 4, Result: "failed", Created: 1, Ran: 1, Started: start, Finished: start.Add(33 * time.Second)},
		Failures:  []engine.StepFailure{{Addr: "exec.test"}},
		Skipped:   []string{"exec.after"},
		Durations: map[string]time.Duration{"docker_build.app": 31 * time.Second, "exec.test": 2 * time.Second},
	}, false)
	j.Outputs(map[string]JSONOutput{
		"image":    {Value: json.RawMessage(`"127.0.0.1:5000/app@sha256:1a2b"`), Type: json.RawMessage(`"string"`)},
		"password": {Value: json.RawMessage(`"(sensitive value)"`), Sensitive: true},
	})
	j.Error("Error: the state is locked by another run: ID 1234\nRun: ansflow force-unlock 1234")
	j.Validate(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unsupported argument", Detail: `An argument named "imgae" is not expected here. Did you mean "image"?`}})
}

// TestJSONEventsMatchSchema checks every event the view writes against the
// documented schema, that every documented event type is written, and pins
// the stream in testdata/events.golden.
func TestJSONEventsMatchSchema(t *testing.T) {
	schema, types := loadEventSchema(t)
	var buf bytes.Buffer
	j := NewJSON(&buf)
	j.Schemas = builtin.Schemas()
	j.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	writeEveryEvent(j)

	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	for n := 1; sc.Scan(); n++ {
		if err := schema.ValidateJSON(sc.Bytes()); err != nil {
			t.Errorf("line %d does not match docs/json-events.schema.json: %v\n%s", n, err, sc.Text())
		}
		var ev struct{ Type string }
		_ = json.Unmarshal(sc.Bytes(), &ev)
		seen[ev.Type] = true
	}
	for _, typ := range types {
		if !seen[typ] {
			t.Errorf("the schema documents event type %q but the view never wrote one", typ)
		}
	}
	for typ := range seen {
		if !slices.Contains(types, typ) {
			t.Errorf("event type %q is not documented in the schema", typ)
		}
	}
	golden(t, "events", buf.Bytes())
}
