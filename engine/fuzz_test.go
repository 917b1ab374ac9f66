package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodePlan feeds arbitrary bytes to the plan-file decoder used by
// `apply PLANFILE` and `show PLANFILE`: it must never panic, every error
// must name the file, and an accepted plan must be usable (summarised,
// searched, encoded and decoded again).
func FuzzDecodePlan(f *testing.F) {
	seeds := []string{
		`{"format_version":1,"lineage":"L","serial":3,"sources":{"main.hcl":"abc"},"changes":[` +
			`{"addr":"exec.a","step":"exec.a","type":"exec","action":"run","reasons":["it has not run yet"],` +
			`"attrs":[{"path":"command","after":"[\"true\"]"}]}],"variables":{"n":{"value":1,"type":"number"}}}`,
		`{"format_version":1,"sources":{},"changes":[]}`,
		`{"format_version":1,"sources":{},"changes":[null]}`,
		`{"format_version":99}`,
		`{"format_version":"1"}`,
		`{"format_version":1,"changes":"x"}`,
		`{"format_version":1,"sources":{},"changes":[{"action":"explode"}]}`,
		"{\n \"format_version\": 1,\n \"sources\": {\n",
		`[]`, `null`, ``, "\x00\xff",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// A plan as this build writes it, with its checksum, so the fuzzer
	// starts from accepted plans too.
	valid, err := EncodePlan(&Plan{FormatVersion: PlanFormatVersion, Lineage: "L", Serial: 3, RunNumber: 4, RunID: "id",
		Sources: map[string]string{"main.hcl": "abc"}, Builtins: map[string]string{`env("X")`: `"x"`},
		Changes: []*Change{{Addr: "exec.a", Step: "exec.a", Type: "exec", Action: Run, Reasons: []string{"it has not run yet"}}},
		Bindings: map[string]*Binding{"exec.a": {Inputs: []byte(`{"command":["echo",{"ansflow:unknown":true}]}`),
			References: map[string][]string{"command": {`env("X")`}}, Values: map[string]string{`env("X")`: `"x"`}}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodePlan("fuzz.plan", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.plan") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if p.FormatVersion < 1 || p.FormatVersion > PlanFormatVersion {
			t.Fatalf("accepted format_version %d", p.FormatVersion)
		}
		_ = p.Summary()
		_ = p.HasChanges()
		_ = p.Change("exec.a")
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("accepted plan does not encode: %v", err)
		}
		if _, err := DecodePlan("again.plan", out); err != nil {
			t.Fatalf("accepted plan does not decode again after encoding: %v\n%s", err, out)
		}
	})
}
