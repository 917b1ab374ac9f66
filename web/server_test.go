package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/runlog"
	"github.com/ansflow/ansflow/state"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// fixture is a pipeline directory with two runs: run 1 finished (exec.a ok,
// exec.b failed after a retry), run 2 still going (exec.a running).
type fixture struct {
	dir string
	st  *state.State
	rec *runlog.Recorder
}

func testPlan() *engine.Plan {
	return &engine.Plan{Workspace: "default", Changes: []*engine.Change{
		{Addr: "exec.a", Type: "exec", Action: engine.Run, Reasons: []string{"it has not run yet"}},
		{Addr: `exec.b["x<y>"]`, Type: "exec", Action: engine.Run, DependsOn: []string{"exec.a"}},
		{Addr: "exec.c", Type: "exec", Action: engine.NoOp},
	}}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st := state.New("default")
	st.RunNumber = 2
	st.Runs = []state.Run{
		{Number: 1, Operation: "apply", User: "ci@host", Result: "failed", Started: at(0), Finished: at(900), Ran: 1, Failed: 1},
		{Number: 2, Operation: "apply", User: "dev@laptop", Result: "running", Started: at(5000)},
	}
	code := 0
	st.Instances["exec.a"] = &state.Instance{Addr: "exec.a", Type: "exec", Status: state.StatusOK, Run: 1, Attempts: 1, ExitCode: &code,
		Inputs:  []byte(`{"command":["echo","hi"],"env":{"TOKEN":"(sensitive:sha256:0123456789abcdef)"}}`),
		Outputs: []byte(`{"exit_code":0,"stdout":"hi\n"}`)}
	r1, err := runlog.Create(engine.LogDir(dir, "default", 1), runlog.HeaderFromPlan(testPlan(), 1, "apply"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []engine.Event{
		{Type: engine.EventStepStart, Time: at(0), Addr: "exec.a", Action: engine.Run},
		{Type: engine.EventStepEnd, Time: at(300), Addr: "exec.a", Action: engine.Run, Result: engine.ResultOK, Duration: 300 * time.Millisecond},
		{Type: engine.EventStepStart, Time: at(300), Addr: `exec.b["x<y>"]`, Action: engine.Run},
		{Type: engine.EventStepRetry, Time: at(500), Addr: `exec.b["x<y>"]`, Action: engine.Run, Attempt: 2, Error: "exited with code 1"},
		{Type: engine.EventStepEnd, Time: at(900), Addr: `exec.b["x<y>"]`, Action: engine.Run, Result: engine.ResultFailed, Error: "exited with code 1", Duration: 600 * time.Millisecond},
	} {
		r1.Event(ev)
	}
	r1.Finish(&engine.ApplyResult{Run: state.Run{Number: 1, Result: "failed", Started: at(0), Finished: at(900)}}, "apply")
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	logDir := engine.LogDir(dir, "default", 1)
	os.WriteFile(filepath.Join(logDir, engine.LogFileName(`exec.b["x<y>"]`, "stderr")), []byte("boom <script>alert(1)</script>\n"), 0o600)
	os.WriteFile(filepath.Join(logDir, engine.LogFileName("exec.a", "stdout")), []byte("hi\n"), 0o600)
	r2, err := runlog.Create(engine.LogDir(dir, "default", 2), runlog.HeaderFromPlan(testPlan(), 2, "apply"))
	if err != nil {
		t.Fatal(err)
	}
	r2.Event(engine.Event{Type: engine.EventStepStart, Time: at(5000), Addr: "exec.a", Action: engine.Run})
	t.Cleanup(func() { r2.Close() })
	return &fixture{dir: dir, st: st, rec: r2}
}

func (f *fixture) server(t *testing.T, token string) *httptest.Server {
	t.Helper()
	s := &Server{Dir: f.dir, Workspace: "default", Token: token, Poll: 10 * time.Millisecond,
		ReadState: func(context.Context) (*state.State, error) { return f.st, nil }}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPages(t *testing.T) {
	f := newFixture(t)
	ts := f.server(t, "")
	tests := []struct {
		path   string
		code   int
		want   []string
		reject []string
	}{
		{"/", 200, []string{`href="/runs/2"`, "dev@laptop", "ci@host", `res-failed`, "900ms"}, nil},
		{"/?result=failed", 200, []string{"ci@host"}, []string{"dev@laptop"}},
		{"/?user=LAPTOP", 200, []string{"dev@laptop"}, []string{"ci@host"}},
		{"/runs/1", 200, []string{`class="node st-succeeded" data-addr="exec.a"`, `class="node st-failed" data-addr="exec.b[&#34;x&lt;y&gt;&#34;]"`,
			`class="node st-up_to_date" data-addr="exec.c"`, `class="bar retried"`, "critical", "exited with code 1"}, []string{"<y>"}},
		{"/runs/2", 200, []string{`data-live="true"`, `class="node st-running" data-addr="exec.a"`, `st-waiting`}, nil},
		{"/runs/2/timeline", 200, []string{`<svg`, `st-running`}, nil},
		{"/runs/1/step?addr=exec.a", 200, []string{"it has not run yet", "(sensitive value)", `&#34;echo&#34;`, "Exit code", "hi\n"}, []string{"sensitive:sha256", "0123456789abcdef"}},
		{"/runs/1/step?addr=" + strings.ReplaceAll(`exec.b["x<y>"]`, "<", "%3C"), 200, []string{"boom &lt;script&gt;", "exited with code 1", "attempts"}, []string{"<script>alert"}},
		{"/runs/2/step?addr=exec.a", 200, []string{"run #1", "/runs/1/step?addr=exec.a", `data-live="true"`}, nil},
		{"/stats", 200, []string{"exec.a", "100%", "0%"}, nil},
		{"/plans", 200, []string{"No saved plan here"}, nil},
		{"/runs/9", 404, []string{"no run 9"}, nil},
		{"/runs/x", 400, nil, nil},
		{"/runs/1/step?addr=exec.zzz", 404, nil, nil},
		{"/static/app.js", 200, []string{"EventSource"}, nil},
		{"/static/app.css", 200, []string{"st-running"}, nil},
		{"/nope", 404, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, nil, ts.URL+tt.path)
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			for _, r := range tt.reject {
				if strings.Contains(body, r) {
					t.Errorf("the page has %q", r)
				}
			}
			if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") || strings.Contains(got, "unsafe") {
				t.Errorf("Content-Security-Policy = %q", got)
			}
			if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "<style") {
				t.Error("the page has inline script or style")
			}
		})
	}
}

func TestReadOnlyAndLoopback(t *testing.T) {
	f := newFixture(t)
	ts := f.server(t, "")
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		req, _ := http.NewRequest(m, ts.URL+"/runs/1", strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405", m, resp.StatusCode)
		}
	}
	s := &Server{Loopback: true, ReadState: func(context.Context) (*state.State, error) { return f.st, nil }}
	h, _ := s.Handler()
	for host, want := range map[string]int{"127.0.0.1:8300": 200, "localhost:8300": 200, "[::1]:8300": 200, "evil.example:8300": 421} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: status %d, want %d", host, rec.Code, want)
		}
	}
	for addr, ok := range map[string]bool{"127.0.0.1:8300": true, "localhost:1": true, "[::1]:8300": true, "0.0.0.0:8300": false, ":8300": false, "10.1.2.3:80": false} {
		if err := CheckAddr(addr, ""); (err == nil) != ok {
			t.Errorf("CheckAddr(%s) = %v", addr, err)
		}
		if err := CheckAddr(addr, "s3cret"); err != nil {
			t.Errorf("CheckAddr(%s) with a token = %v", addr, err)
		}
	}
}

func TestToken(t *testing.T) {
	f := newFixture(t)
	ts := f.server(t, "s3cret")
	if resp, _ := get(t, nil, ts.URL+"/runs/1"); resp.StatusCode != 401 {
		t.Errorf("without a token: %d, want 401", resp.StatusCode)
	}
	if resp, _ := get(t, nil, ts.URL+"/static/app.js?token=wrong"); resp.StatusCode != 401 {
		t.Errorf("wrong token: %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/runs/1", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("bearer token: %v %v", resp, err)
	}
	jar := newJar()
	c := &http.Client{Jar: jar}
	resp, body := get(t, c, ts.URL+"/runs/1?token=s3cret")
	if resp.StatusCode != 200 || resp.Request.URL.RawQuery != "" {
		t.Fatalf("token link: status %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if strings.Contains(body, "s3cret") {
		t.Error("the page shows the token")
	}
	if resp, _ := get(t, c, ts.URL+"/stats"); resp.StatusCode != 200 {
		t.Errorf("with the cookie: %d", resp.StatusCode)
	}
}

// sseEvents reads server-sent events until want are seen or the stream ends.
func sseEvents(t *testing.T, body io.Reader, until func(event, data string) bool) {
	t.Helper()
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 1<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok && until(event, d) {
			return
		}
	}
	t.Fatal("the stream ended early")
}

func TestRunEventsFollowALiveRun(t *testing.T) {
	f := newFixture(t)
	ts := f.server(t, "")
	resp, err := http.Get(ts.URL + "/runs/2/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	var seen []string
	step := 0
	sseEvents(t, resp.Body, func(event, data string) bool {
		seen = append(seen, event)
		switch event {
		case "snapshot":
			if !strings.Contains(data, `"addr":"exec.a","status":"running"`) || !strings.Contains(data, `"status":"waiting"`) {
				t.Errorf("snapshot %s: exec.a should be running, exec.b waiting", data)
			}
			f.rec.Event(engine.Event{Type: engine.EventStepEnd, Time: at(5400), Addr: "exec.a", Action: engine.Run, Result: engine.ResultOK, Duration: 400 * time.Millisecond})
		case "step":
			step++
			if !strings.Contains(data, `"addr":"exec.a","status":"succeeded"`) {
				t.Errorf("step event %s: want exec.a succeeded", data)
			}
			f.rec.Finish(&engine.ApplyResult{Run: state.Run{Number: 2, Result: "ok", Started: at(5000), Finished: at(5500)}}, "apply")
		case "end":
			if !strings.Contains(data, `"result":"ok","done":true`) {
				t.Errorf("end %s", data)
			}
			return true
		}
		return false
	})
	if fmt.Sprint(seen) != "[snapshot step end]" {
		t.Errorf("events %v, want snapshot, step, end", seen)
	}
}

func TestLogStream(t *testing.T) {
	f := newFixture(t)
	ts := f.server(t, "")
	path := filepath.Join(engine.LogDir(f.dir, "default", 2), engine.LogFileName("exec.a", "stdout"))
	os.WriteFile(path, []byte("one\n"), 0o600)
	resp, err := http.Get(ts.URL + "/runs/2/log?addr=exec.a&stream=stdout&from=0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var text strings.Builder
	sseEvents(t, resp.Body, func(event, data string) bool {
		if event == "log" {
			text.WriteString(data)
			if !strings.Contains(text.String(), "two") {
				fh, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
				fh.WriteString("two\n")
				fh.Close()
			} else {
				f.rec.Event(engine.Event{Type: engine.EventStepEnd, Time: at(5400), Addr: "exec.a", Action: engine.Run, Result: engine.ResultOK})
			}
		}
		return event == "end"
	})
	if got := text.String(); !strings.Contains(got, `one\n`) || !strings.Contains(got, `two\n`) {
		t.Errorf("followed %q", got)
	}
	if resp, _ := get(t, nil, ts.URL+"/runs/2/log?addr=exec.a&stream=env"); resp.StatusCode != 400 {
		t.Errorf("bad stream: %d", resp.StatusCode)
	}
}

// TestPagesFollowRenames: after a moved block renamed exec.a, run 1 shows
// it under its new address, with the log written under the old one.
func TestPagesFollowRenames(t *testing.T) {
	f := newFixture(t)
	in := *f.st.Instances["exec.a"]
	in.Addr = "module.m.exec.a"
	delete(f.st.Instances, "exec.a")
	f.st.Instances[in.Addr] = &in
	f.st.Moved = []state.Rename{{From: "exec.a", To: in.Addr, Run: 2}}
	ts := f.server(t, "")
	if resp, body := get(t, nil, ts.URL+"/runs/1/step?addr=module.m.exec.a"); resp.StatusCode != 200 || !strings.Contains(body, "hi\n") {
		t.Errorf("step page of the renamed step: status %d\n%s", resp.StatusCode, body)
	}
	if _, body := get(t, nil, ts.URL+"/runs/1"); !strings.Contains(body, `data-addr="module.m.exec.a"`) || strings.Contains(body, `data-addr="exec.a"`) {
		t.Errorf("run 1 does not show exec.a under its new address")
	}
}
