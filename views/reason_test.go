package views

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/engine"
	"github.com/google/go-cmp/cmp"
)

func intPtr(n int) *int { return &n }

// reasonCases has one case or more for every reason code, with the
// sentence people read.
var reasonCases = []struct {
	name   string
	reason engine.Reason
	want   string
}{
	{"new", engine.Reason{Code: engine.ReasonNew}, "it is not in the state yet"},
	{"never ran", engine.Reason{Code: engine.ReasonNeverRan}, "it has not run yet"},
	{"replace requested", engine.Reason{Code: engine.ReasonReplaceRequested}, "-replace was requested"},
	{"gone", engine.Reason{Code: engine.ReasonGone}, "it was deleted outside ansflow"},
	{"drift", engine.Reason{Code: engine.ReasonDrift, Attrs: []string{"replicas"}, Before: "2", After: "5"}, "replicas was changed outside ansflow (2 -> 5)"},
	{"files changed", engine.Reason{Code: engine.ReasonFilesChanged, File: "context"}, "the contents of context changed"},
	{"attrs changed", engine.Reason{Code: engine.ReasonAttrsChanged, Attrs: []string{"command", "env.PW"}}, "command, env.PW changed"},
	{"attrs changed with causes", engine.Reason{Code: engine.ReasonAttrsChanged, Attrs: []string{"command"},
		Causes: []engine.Cause{{Ref: "var.v", Before: `"1"`, After: `"9"`}, {Ref: "var.pw", Before: "(sensitive value)", After: "(sensitive value)"}}},
		`command changed (var.v: "1" -> "9", var.pw: (sensitive value) -> (sensitive value))`},
	{"many attrs changed", engine.Reason{Code: engine.ReasonAttrsChanged, Attrs: []string{"a", "b", "c", "d", "e", "f", "g"}}, "a, b, c, d, e and 2 more changed"},
	{"attrs known after apply", engine.Reason{Code: engine.ReasonAttrsChanged, Unknown: []string{"image"},
		Upstream: []engine.Upstream{{Addr: "exec.tag", Action: engine.Run}}},
		"image will be known only after apply (upstream exec.tag will run)"},
	{"attrs changed and known after apply", engine.Reason{Code: engine.ReasonAttrsChanged, Attrs: []string{"replicas"}, Unknown: []string{"image"}},
		"replicas changed; image will be known only after apply"},
	{"inputs changed", engine.Reason{Code: engine.ReasonInputsChanged}, "its inputs changed"},
	{"force new", engine.Reason{Code: engine.ReasonForceNew, Attrs: []string{"name", "namespace"}}, "name, namespace cannot be changed in place"},
	{"failed last time", engine.Reason{Code: engine.ReasonFailedLastTime}, "it failed last run"},
	{"failed last time with exit code", engine.Reason{Code: engine.ReasonFailedLastTime, ExitCode: intPtr(2)}, "it failed last run (exit code 2)"},
	{"upstream changed", engine.Reason{Code: engine.ReasonUpstreamChanged, Upstream: []engine.Upstream{
		{Addr: "docker_build.app", Action: engine.Update}, {Addr: "exec.b", Action: engine.Run}, {Addr: "k8s_deploy.x", Action: engine.Replace}}, MoreUpstream: 2},
		"upstream docker_build.app will be updated, exec.b will run, k8s_deploy.x will be replaced, 2 more"},
	{"upstream created or deleted", engine.Reason{Code: engine.ReasonUpstreamChanged, Upstream: []engine.Upstream{
		{Addr: "a.b", Action: engine.Create}, {Addr: "c.d", Action: engine.Delete}}},
		"upstream a.b will be created, c.d will be deleted"},
	{"upstream may change files", engine.Reason{Code: engine.ReasonUpstreamFiles, Upstream: []engine.Upstream{{Addr: "exec.gen", Action: engine.Run}}},
		"upstream exec.gen will run, which may change the files it reads (checked again before it is applied)"},
	{"when false", engine.Reason{Code: engine.ReasonWhenFalse}, "when is false"},
	{"when false, object kept", engine.Reason{Code: engine.ReasonWhenFalse, Kept: true}, "when is false; what it created is left as it is"},
	{"not targeted", engine.Reason{Code: engine.ReasonNotTargeted}, "not selected by -target"},
	{"orphan", engine.Reason{Code: engine.ReasonOrphan}, "it is no longer in the configuration"},
	{"destroy", engine.Reason{Code: engine.ReasonDestroy}, "destroy was requested"},
	{"record only", engine.Reason{Code: engine.ReasonRecordOnly}, "only its record is removed"},
}

func TestReasonText(t *testing.T) {
	covered := map[engine.ReasonCode]bool{}
	for _, tc := range reasonCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReasonText(tc.reason); got != tc.want {
				t.Errorf("ReasonText(%+v):\n got  %q\n want %q", tc.reason, got, tc.want)
			}
		})
		covered[tc.reason.Code] = true
	}
	for _, c := range engine.ReasonCodes() {
		if !covered[c] {
			t.Errorf("reason code %s has no case here", c)
		}
		if got := ReasonText(engine.Reason{Code: c}); got == c.String() {
			t.Errorf("reason code %s has no sentence", c)
		}
	}
}

func TestReasonsPreferCodes(t *testing.T) {
	cases := []struct {
		name   string
		change engine.Change
		want   []string
	}{
		{"codes", engine.Change{Why: []engine.Reason{{Code: engine.ReasonOrphan}, {Code: engine.ReasonRecordOnly}}},
			[]string{"it is no longer in the configuration", "only its record is removed"}},
		{"text only (an older plan)", engine.Change{Reasons: []string{"command changed"}}, []string{"command changed"}},
		{"codes win over text", engine.Change{Why: []engine.Reason{{Code: engine.ReasonNew}}, Reasons: []string{"stale text"}},
			[]string{"it is not in the state yet"}},
		{"none", engine.Change{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Reasons(&tc.change)); diff != "" {
				t.Errorf("Reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNotTargetedByCodeOrText(t *testing.T) {
	p := &engine.Plan{Targets: []string{"exec.a"}, Changes: []*engine.Change{
		{Addr: "exec.a", Action: engine.Run, Why: []engine.Reason{{Code: engine.ReasonNeverRan}}},
		{Addr: "exec.b", Action: engine.Skip, Why: []engine.Reason{{Code: engine.ReasonNotTargeted}}},
		{Addr: "exec.c", Action: engine.Skip, Reasons: []string{"not selected by -target"}},
		{Addr: "exec.d", Action: engine.Skip, Why: []engine.Reason{{Code: engine.ReasonWhenFalse}}},
	}}
	if got := NotTargeted(p); got != 2 {
		t.Errorf("NotTargeted = %d, want 2", got)
	}
}

// TestPlannedChangeCarriesCodes checks that a planned_change event has the
// reasons as text and as data, valid against the documented schema.
func TestPlannedChangeCarriesCodes(t *testing.T) {
	schema, _ := loadEventSchema(t)
	c := &engine.Change{Addr: "exec.b", Step: "exec.b", Type: "exec", Action: engine.Run, Why: []engine.Reason{
		{Code: engine.ReasonAttrsChanged, Attrs: []string{"command"}, Causes: []engine.Cause{{Ref: "var.v", Before: `"1"`, After: `"9"`}}},
		{Code: engine.ReasonFailedLastTime, ExitCode: intPtr(1)},
		{Code: engine.ReasonUpstreamChanged, Upstream: []engine.Upstream{{Addr: "exec.a", Action: engine.Run}}, MoreUpstream: 4},
	}}
	var buf bytes.Buffer
	j := NewJSON(&buf)
	j.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	j.Plan(&engine.Plan{Changes: []*engine.Change{c}})
	sc := bufio.NewScanner(&buf)
	if !sc.Scan() {
		t.Fatal("no event written")
	}
	line := sc.Bytes()
	if err := schema.ValidateJSON(line); err != nil {
		t.Fatalf("does not match docs/json-events.schema.json: %v\n%s", err, line)
	}
	var ev struct {
		Message string `json:"@message"`
		Change  struct {
			Reasons []string          `json:"reasons"`
			Why     []json.RawMessage `json:"why"`
		} `json:"change"`
	}
	if err := json.Unmarshal(line, &ev); err != nil {
		t.Fatal(err)
	}
	want := []string{`command changed (var.v: "1" -> "9")`, "it failed last run (exit code 1)", "upstream exec.a will run, 4 more"}
	if diff := cmp.Diff(want, ev.Change.Reasons); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	if ev.Message != "exec.b will run because "+strings.Join(want, "; ") {
		t.Errorf("@message: got %q", ev.Message)
	}
	wantWhy := []string{
		`{"code":"attrs_changed","attrs":["command"],"causes":[{"ref":"var.v","before":"\"1\"","after":"\"9\""}]}`,
		`{"code":"failed_last_time","exit_code":1}`,
		`{"code":"upstream_changed","upstream":[{"addr":"exec.a","action":"run"}],"more_upstream":4}`,
	}
	var gotWhy []string
	for _, w := range ev.Change.Why {
		gotWhy = append(gotWhy, string(w))
	}
	if diff := cmp.Diff(wantWhy, gotWhy); diff != "" {
		t.Errorf("why (-want +got):\n%s", diff)
	}
	if c.Reasons != nil {
		t.Errorf("writing the event changed the plan's change: reasons %q", c.Reasons)
	}
}
