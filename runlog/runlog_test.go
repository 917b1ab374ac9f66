package runlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/state"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func testPlan() *engine.Plan {
	return &engine.Plan{Workspace: "default", Changes: []*engine.Change{
		{Addr: "exec.a", Type: "exec", Action: engine.Run, Reasons: []string{"it has not run yet"}},
		{Addr: "exec.b", Type: "exec", Action: engine.Run, DependsOn: []string{"exec.a"}},
		{Addr: "exec.c", Type: "exec", Action: engine.Run, DependsOn: []string{"exec.a"}},
		{Addr: "exec.d", Type: "exec", Action: engine.NoOp},
		{Addr: "exec.e", Type: "exec", Action: engine.Run, DependsOn: []string{"exec.b", "exec.c"}},
		{Addr: "exec.f", Type: "exec", Action: engine.Run, DependsOn: []string{"exec.e"}},
	}}
}

func record(t *testing.T, dir string, events []engine.Event, finish bool) {
	t.Helper()
	r, err := Create(dir, HeaderFromPlan(testPlan(), 3, "apply"))
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return t0 }
	for _, ev := range events {
		r.Event(ev)
	}
	if finish {
		r.Finish(&engine.ApplyResult{Run: state.Run{Number: 3, Result: "ok", Started: at(0), Finished: at(9)}}, "apply")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

var events = []engine.Event{
	{Type: engine.EventStepStart, Time: at(0), Addr: "exec.a", Action: engine.Run},
	{Type: engine.EventStepLog, Time: at(1), Addr: "exec.a", Action: engine.Run, Stream: "stdout", Message: "a line"},
	{Type: engine.EventStepEnd, Time: at(2), Addr: "exec.a", Action: engine.Run, Result: engine.ResultOK, Duration: 2 * time.Second},
	{Type: engine.EventStepStart, Time: at(2), Addr: "exec.b", Action: engine.Run},
	{Type: engine.EventStepStart, Time: at(2), Addr: "exec.c", Action: engine.Run},
	{Type: engine.EventStepRetry, Time: at(3), Addr: "exec.c", Action: engine.Run, Attempt: 2, Error: "exit 1"},
	{Type: engine.EventStepEnd, Time: at(4), Addr: "exec.b", Action: engine.Run, Result: engine.ResultOK, Duration: 2 * time.Second},
	{Type: engine.EventStepEnd, Time: at(6), Addr: "exec.c", Action: engine.Run, Result: engine.ResultOK, Duration: 4 * time.Second, Attempt: 2},
	{Type: engine.EventStepStart, Time: at(6), Addr: "exec.e", Action: engine.Run},
	{Type: engine.EventStepEnd, Time: at(9), Addr: "exec.e", Action: engine.Run, Result: engine.ResultFailed, Error: "boom", Duration: 3 * time.Second},
	{Type: engine.EventStepEnd, Time: at(9), Addr: "exec.f", Action: engine.Run, Result: engine.ResultSkipped, Error: "skipped because exec.e failed"},
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	record(t, dir, events, true)
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "a line") {
		t.Error("log lines are in the events file; they belong in the .stdout/.stderr files")
	}
	r, n, err := Read(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(data)) {
		t.Errorf("consumed %d of %d bytes", n, len(data))
	}
	if !r.Done() || r.Result != "ok" || r.Number != 3 {
		t.Errorf("run = %d %q, want run 3 ok and done", r.Number, r.Result)
	}
	if f := r.Step("exec.f"); f.Status != StatusSkipped || !f.Started.IsZero() || !f.Finished.IsZero() {
		t.Errorf("exec.f = %+v, want skipped with no start or end", f)
	}
	want := map[string]Status{"exec.a": StatusSucceeded, "exec.b": StatusSucceeded, "exec.c": StatusSucceeded, "exec.d": StatusUpToDate, "exec.e": StatusFailed}
	for addr, st := range want {
		if got := r.Step(addr).Status; got != st {
			t.Errorf("%s: status %s, want %s", addr, got, st)
		}
	}
	c := r.Step("exec.c")
	if len(c.Attempts) != 2 || c.Attempts[0].Error != "exit 1" || !c.Attempts[1].Started.Equal(at(3)) || !c.Retried() {
		t.Errorf("exec.c attempts = %+v, want two, the first failed with exit 1", c.Attempts)
	}
	if e := r.Step("exec.e"); e.Error != "boom" || e.Duration != 3*time.Second {
		t.Errorf("exec.e = %+v", e)
	}
	if got := strings.Join(r.CriticalPath(), " "); got != "exec.a exec.c exec.e" {
		t.Errorf("critical path = %s, want exec.a exec.c exec.e", got)
	}
	if got := r.Step("exec.a").Reasons; len(got) != 1 {
		t.Errorf("reasons of exec.a = %v", got)
	}
}

func TestLiveRunAndPartialLine(t *testing.T) {
	dir := t.TempDir()
	record(t, dir, events[:4], false)
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	half := `{"@version":1,"@timestamp":"2026-12-01T10:00:04Z","type":"step_end","step":{"addr":"exec.b"`
	f.WriteString(half)
	f.Close()
	r, n, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Done() {
		t.Error("a run without its summary line is done")
	}
	if got := r.View(r.Step("exec.b")); got != StatusRunning {
		t.Errorf("exec.b: %s, want running", got)
	}
	if got := r.View(r.Step("exec.e")); got != StatusWaiting {
		t.Errorf("exec.e: %s, want waiting while the run goes on", got)
	}
	// The rest of the line arrives: a follower reading from n sees it.
	f, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`,"action":"run","result":"ok"}}` + "\n")
	f.Close()
	f, _ = os.Open(path)
	defer f.Close()
	f.Seek(n, 0)
	var seen []Event
	if _, err := r.Follow(f, func(ev Event) { seen = append(seen, ev) }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].Step.Addr != "exec.b" || seen[0].Step.Status != StatusSucceeded {
		t.Errorf("followed %+v, want exec.b succeeded", seen)
	}
}

func TestFromStateAndLast(t *testing.T) {
	dir := t.TempDir()
	code := 1
	st := state.New("default")
	st.Runs = []state.Run{{Number: 1, Result: "failed"}, {Number: 2, Result: "ok"}}
	st.Instances["exec.x"] = &state.Instance{Addr: "exec.x", Type: "exec", Status: state.StatusFailed, Run: 1, Attempts: 2,
		Started: at(0), Finished: at(5), ExitCode: &code, Error: "exited with code 1"}
	st.Instances["exec.y"] = &state.Instance{Addr: "exec.y", Type: "exec", Status: state.StatusOK, Run: 2, Attempts: 1}
	record(t, engine.LogDir(dir, "default", 2), events, true)
	runs := Last(dir, st, 0)
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	x := runs[0].Step("exec.x")
	if x == nil || x.Status != StatusFailed || len(x.Attempts) != 2 || x.Duration != 5*time.Second {
		t.Errorf("run 1 from the state: exec.x = %+v", x)
	}
	if runs[1].Step("exec.e") == nil {
		t.Error("run 2 was not read from its events file")
	}
	if got := Last(dir, st, 1); len(got) != 1 || got[0].Number != 3 && got[0].Number != 2 {
		t.Errorf("Last(1) = %d runs", len(got))
	}
}

func TestNewerVersionRefused(t *testing.T) {
	r := &Run{}
	if _, err := r.Fold([]byte(`{"@version":99,"type":"run_start","run":{"number":1}}`)); err == nil || !strings.Contains(err.Error(), "upgrade") {
		t.Errorf("err = %v, want a version error", err)
	}
	if _, err := r.Fold([]byte(`{"@version":1,"type":"step_start","step":{"addr":"a"}}`)); err != ErrNoHeader {
		t.Errorf("err = %v, want ErrNoHeader", err)
	}
}

// TestLoadFollowsRenames: a run recorded before a moved block renamed its
// steps is shown with their new addresses.
func TestLoadFollowsRenames(t *testing.T) {
	dir := t.TempDir()
	st := state.New("default")
	st.Runs = []state.Run{{Number: 3, Result: "ok"}, {Number: 4, Result: "ok"}}
	st.Moved = []state.Rename{{From: "exec.a", To: "module.m.exec.a", Run: 4}, {From: "exec.x", To: "exec.y", Run: 3}}
	record(t, engine.LogDir(dir, "default", 3), events, true)
	r, err := Load(dir, st, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Step("exec.a") != nil || r.Step("module.m.exec.a") == nil {
		t.Fatalf("steps of run 3: %v", r.Steps)
	}
	if deps := r.Step("exec.b").DependsOn; len(deps) != 1 || deps[0] != "module.m.exec.a" {
		t.Errorf("exec.b depends on %v, want module.m.exec.a", deps)
	}
	if got := strings.Join(r.CriticalPath(), " "); got != "module.m.exec.a exec.c exec.e" {
		t.Errorf("critical path = %s", got)
	}
}
