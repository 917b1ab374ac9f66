package engine

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/internal/providertest"
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/state"
	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
)

func TestReasonCodeText(t *testing.T) {
	for _, c := range ReasonCodes() {
		b, err := c.MarshalText()
		if err != nil {
			t.Fatalf("%d: %v", c, err)
		}
		var back ReasonCode
		if err := back.UnmarshalText(b); err != nil || back != c {
			t.Errorf("%s: decoded as %s (%v)", b, back, err)
		}
	}
	var c ReasonCode
	if err := c.UnmarshalText([]byte("because")); err == nil || !strings.Contains(err.Error(), "newer ansflow") {
		t.Errorf("an unknown code: got %v, want it refused", err)
	}
	if _, err := ReasonCode(0).MarshalText(); err == nil {
		t.Error("the zero code was encoded")
	}
}

func TestProviderAction(t *testing.T) {
	cases := []struct {
		action   Action
		hasPrior bool
		want     providers.Action
	}{
		{Create, false, providers.Create},
		{Update, true, providers.Update},
		{Update, false, providers.Create}, // never recorded: nothing to update
		{Replace, true, providers.Create}, // after deleting the old object
		{Run, true, providers.Run},
		{Run, false, providers.Run},
	}
	for _, tc := range cases {
		if got := providerAction(tc.action, tc.hasPrior); got != tc.want {
			t.Errorf("providerAction(%s, prior %v) = %v, want %v", tc.action, tc.hasPrior, got, tc.want)
		}
	}
}

func TestUnchangedAfterAll(t *testing.T) {
	ok := &state.Instance{Status: state.StatusOK, Fingerprint: "fp"}
	cases := []struct {
		name  string
		ch    Change
		prior *state.Instance
		fp    string
		want  bool
	}{
		{"update, same fingerprint", Change{Action: Update}, ok, "fp", true},
		{"update, other fingerprint", Change{Action: Update}, ok, "fp2", false},
		{"update with drift", Change{Action: Update, Attrs: []AttrChange{{Path: "replicas", Drift: true}}}, ok, "fp", false},
		{"update after a failure", Change{Action: Update}, &state.Instance{Status: state.StatusFailed, Fingerprint: "fp"}, "fp", false},
		{"update without a record", Change{Action: Update}, nil, "fp", false},
		{"a run always runs", Change{Action: Run}, ok, "fp", false},
		{"a replacement always replaces", Change{Action: Replace}, ok, "fp", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &stepRun{in: &inst{prior: tc.prior}, ch: &tc.ch, fp: tc.fp}
			if got := r.unchangedAfterAll(); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRunResult(t *testing.T) {
	fail := []StepFailure{{Addr: "exec.a"}}
	cases := []struct {
		name string
		res  ApplyResult
		want string
	}{
		{"everything done", ApplyResult{}, "ok"},
		{"a failure", ApplyResult{Failures: fail}, "failed"},
		{"only tolerated failures", ApplyResult{Tolerated: fail}, "ok"},
		{"waiting for an approval", ApplyResult{Waiting: []string{"exec.a"}}, "waiting"},
		{"a failure and a wait", ApplyResult{Failures: fail, Waiting: []string{"exec.b"}}, "failed"},
		{"interrupted after a failure", ApplyResult{Failures: fail, Interrupted: true}, "interrupted"},
	}
	for _, tc := range cases {
		if got := tc.res.runResult(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAttrsReason(t *testing.T) {
	up := upstreamChanges{shown: []Upstream{{Addr: "exec.tag", Action: Run}}, more: 1}
	causes := []Cause{{Ref: "var.v", Before: `"1"`, After: `"2"`}}
	cases := []struct {
		name  string
		attrs []AttrChange
		want  Reason
	}{
		{"changed, with causes", []AttrChange{{Path: "command"}, {Path: "env.A"}},
			Reason{Code: ReasonAttrsChanged, Attrs: []string{"command", "env.A"}, Causes: causes}},
		{"drift is its own reason", []AttrChange{{Path: "replicas", Drift: true}, {Path: "image"}},
			Reason{Code: ReasonAttrsChanged, Attrs: []string{"image"}, Causes: causes}},
		{"known only after apply, because of upstream", []AttrChange{{Path: "image", Unknown: true}},
			Reason{Code: ReasonAttrsChanged, Unknown: []string{"image"}, Upstream: up.shown, MoreUpstream: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, attrsReason(tc.attrs, up, causes)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFileChangesOrder(t *testing.T) {
	prior := &state.Instance{FileHashes: map[string]string{"a": "1", "a b": "1", "same": "1"}}
	got := fileChanges(prior, map[string]string{"a": "2", "a b": "2", "same": "1", "new": "1"})
	var files []string
	for _, r := range got {
		if r.Code != ReasonFilesChanged {
			t.Errorf("code %s, want %s", r.Code, ReasonFilesChanged)
		}
		files = append(files, r.File)
	}
	// In the order of their sentences, "the contents of a b changed" first.
	if diff := cmp.Diff([]string{"a b", "a", "new"}, files); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if fileChanges(nil, map[string]string{"a": "1"}) != nil || fileChanges(prior, nil) != nil {
		t.Error("without a record or files there is nothing to compare")
	}
}

func TestSavedPlanKeepsReasons(t *testing.T) {
	exit := 3
	p := &Plan{FormatVersion: PlanFormatVersion, Sources: map[string]string{}, Changes: []*Change{
		{Addr: "exec.a", Action: Run, Why: []Reason{{Code: ReasonFailedLastTime, ExitCode: &exit}}},
		{Addr: "exec.b", Action: Run, Reasons: []string{"command changed"}}, // as an older build saved it
	}}
	data, err := EncodePlan(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePlan("p.plan", data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p.Changes, got.Changes); diff != "" {
		t.Errorf("changes after a round trip (-want +got):\n%s", diff)
	}
	edited := strings.Replace(string(data), `"failed_last_time"`, `"never_ran"`, 1)
	if _, err := DecodePlan("p.plan", []byte(edited)); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("a reason code changed after saving: got %v, want a checksum mismatch", err)
	}
	unknown := strings.Replace(string(data), `"failed_last_time"`, `"sunspots"`, 1)
	if _, err := DecodePlan("p.plan", []byte(unknown)); err == nil || !strings.Contains(err.Error(), `unknown plan reason "sunspots"`) {
		t.Errorf("an unknown reason code: got %v, want it refused by name", err)
	}
}

func TestApplyWithRetry(t *testing.T) {
	cases := []struct {
		name         string
		failures     int
		retry        config.RetryPolicy
		wantErr      bool
		wantAttempts int
		wantRetries  []string
	}{
		{"first time", 0, config.RetryPolicy{Attempts: 1}, false, 1, nil},
		{"no retry", 1, config.RetryPolicy{Attempts: 1}, true, 1, nil},
		{"succeeds on the third attempt", 2, config.RetryPolicy{Attempts: 3, Delay: time.Millisecond, Backoff: 2},
			false, 3, []string{"attempt 1 of 3 failed; retrying in 1ms", "attempt 2 of 3 failed; retrying in 2ms"}},
		{"attempts used up", 5, config.RetryPolicy{Attempts: 2, Backoff: 1}, true, 2, []string{"attempt 1 of 2 failed; retrying in 0s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var retries []string
			e := &Engine{Observer: func(ev Event) {
				if ev.Type == EventStepRetry {
					mu.Lock()
					retries = append(retries, ev.Message)
					mu.Unlock()
				}
			}}
			a := &applier{e: e, w: &world{e: e, red: &redactor{}, env: providers.Env{LogDir: t.TempDir()}}}
			p := providertest.New()
			inputs := cty.ObjectVal(map[string]cty.Value{"fail_times": cty.NumberIntVal(int64(tc.failures))})
			r := &stepRun{in: &inst{addr: "test_run.a"}, ch: &Change{Action: Run}, p: p, raw: inputs, meta: config.Meta{Retry: tc.retry}, action: providers.Run}
			logs := a.openLogs("test_run.a", Run)
			err := logs.close(a.applyWithRetry(context.Background(), r, logs))
			if (err != nil) != tc.wantErr {
				t.Errorf("error %v, want error %v", err, tc.wantErr)
			}
			if calls := len(p.Calls()); r.attempts != tc.wantAttempts || calls != tc.wantAttempts {
				t.Errorf("attempts %d, calls %d, want %d", r.attempts, calls, tc.wantAttempts)
			}
			if diff := cmp.Diff(tc.wantRetries, retries); diff != "" {
				t.Errorf("retry events (-want +got):\n%s", diff)
			}
		})
	}
}
