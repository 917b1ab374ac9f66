package views

import (
	"bytes"
	"testing"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/google/go-cmp/cmp"
)

// TestVerbsComeFromSchemas checks that progress words come from the step
// type's schema, not from its name: a type the views have never heard of
// gets its own words, and any type without them the generic ones.
func TestVerbsComeFromSchemas(t *testing.T) {
	schemas := config.Schemas{"frob_widget": {Type: "frob_widget", Verbs: config.Verbs{Doing: "Frobbing", Done: "Frobbed"}}}
	cases := []struct {
		name    string
		schemas config.Schemas
		addr    string
		action  engine.Action
		want    string
	}{
		{"own words", schemas, "frob_widget.a", engine.Create, "frob_widget.a: Frobbing...\nfrob_widget.a: Frobbed after 2s\n"},
		{"no schemas", nil, "frob_widget.a", engine.Create, "frob_widget.a: Creating...\nfrob_widget.a: Creation complete after 2s\n"},
		{"schema without words", schemas, "exec.b", engine.Run, "exec.b: Running...\nexec.b: Ran after 2s\n"},
		{"in a module", schemas, `module.svc["a"].frob_widget.x`, engine.Create, "module.svc[\"a\"].frob_widget.x: Frobbing...\nmodule.svc[\"a\"].frob_widget.x: Frobbed after 2s\n"},
		{"delete is always destroy", schemas, "frob_widget.a", engine.Delete, "frob_widget.a: Destroying...\nfrob_widget.a: Destruction complete after 2s\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := NewProgress(&buf, Style{Schemas: c.schemas}, 0)
			p.Event(engine.Event{Type: engine.EventStepStart, Addr: c.addr, Action: c.action})
			p.Event(engine.Event{Type: engine.EventStepEnd, Addr: c.addr, Action: c.action, Result: engine.ResultOK, Duration: 2 * time.Second})
			p.Close()
			if diff := cmp.Diff(c.want, buf.String()); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
			}
		})
	}
}
