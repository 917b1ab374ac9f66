package cmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ansflow/ansflow/cmd"
	"github.com/ansflow/ansflow/providers/builtin"
)

// hook is a webhook on 127.0.0.1 answering with codes in turn (the last
// one from then on), keeping the bodies it got.
type hook struct {
	mu     sync.Mutex
	codes  []int
	bodies []string
	srv    *httptest.Server
}

func newHook(t *testing.T, codes ...int) *hook {
	h := &hook{codes: codes}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, string(b))
		code := h.codes[min(len(h.bodies), len(h.codes))-1]
		h.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bodies...)
}

// silentHook accepts requests and never answers.
func silentHook(t *testing.T) string {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	return srv.URL
}

func runAnsflow(t *testing.T, dir string, env []string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := &cmd.App{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Environ: append(append(os.Environ(), "NO_COLOR=1", "ANSFLOW_WORKSPACE="), env...), Providers: builtin.Registry}
	code := cmd.Main(context.Background(), app, append([]string{"-chdir=" + dir}, args...))
	return stdout.String(), stderr.String(), code
}

// TestApplyNotifies runs applies that fail, wait for approval and succeed
// against real webhooks: one answers 500 then 200 (retried), one never
// answers (a warning, not a failed apply), one wants only success.
func TestApplyNotifies(t *testing.T) {
	team, ok := newHook(t, 500, 200), newHook(t, 200)
	silent := silentHook(t)
	dir := t.TempDir()
	pipeline := `
variable "hook" {
  type      = string
  sensitive = true
}
variable "token" {
  type      = string
  sensitive = true
  default   = "s3cr3t-token"
}
variable "fail" {
  type    = bool
  default = true
}
notify "team" {
  url     = var.hook
  on      = ["failure", "approval"]
  retries = 2
  link    = "https://ci.example.com/runs/${run.number}"
}
notify "silent" {
  url     = "` + silent + `/hook"
  on      = ["failure"]
  timeout = "200ms"
  retries = 0
}
notify "ok" {
  url    = "` + ok.srv.URL + `"
  on     = ["success"]
  format = "slack"
}
exec "test" {
  command = ["sh", "-c", "echo token ${var.token} refused >&2; ${var.fail ? "exit 1" : "true"}"]
}
exec "deploy" {
  command    = ["true"]
  depends_on = [exec.test]
  approval {}
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"ANSFLOW_VAR_hook=" + team.srv.URL + "/services/T0KEN"}

	_, stderr, code := runAnsflow(t, dir, env, "apply", "-auto-approve")
	if code != 1 {
		t.Fatalf("apply with a failing step exited %d, want 1\n%s", code, stderr)
	}
	if !strings.Contains(stderr, `Warning: notify "silent" failed: try 1 of 1: no answer within 200ms. The apply's result is not affected.`) {
		t.Errorf("no warning about the silent webhook:\n%s", stderr)
	}
	if strings.Contains(stderr, "T0KEN") {
		t.Errorf("the sensitive webhook URL was shown:\n%s", stderr)
	}
	bodies := team.got()
	if len(bodies) != 2 {
		t.Fatalf("team webhook got %d requests, want 2 (500, then 200)", len(bodies))
	}
	var p struct {
		Pipeline, Result, Event, Link, Text string
		Run                                 int
		Failed                              []struct{ Addr, Error string } `json:"failed_steps"`
	}
	if err := json.Unmarshal([]byte(bodies[1]), &p); err != nil {
		t.Fatalf("payload: %v\n%s", err, bodies[1])
	}
	if p.Pipeline != filepath.Base(dir) || p.Run != 1 || p.Result != "failed" || p.Event != "failure" || p.Link != "https://ci.example.com/runs/1" {
		t.Errorf("payload = %+v", p)
	}
	if len(p.Failed) != 1 || p.Failed[0].Addr != "exec.test" || !strings.Contains(p.Failed[0].Error, "exited with code 1") {
		t.Errorf("failed steps = %+v, want exec.test with its error", p.Failed)
	}
	if strings.Contains(bodies[1], "s3cr3t-token") {
		t.Errorf("a sensitive value reached the payload:\n%s", bodies[1])
	}
	if len(ok.got()) != 0 {
		t.Errorf("the success-only webhook was called for a failure")
	}

	// The test passes; deploy waits for approval: exit 3 and an approval event.
	_, stderr, code = runAnsflow(t, dir, env, "apply", "-auto-approve", "-var", "fail=false")
	if code != 3 {
		t.Fatalf("apply stopping for approval exited %d, want 3\n%s", code, stderr)
	}
	bodies = team.got()
	if len(bodies) != 3 || !strings.Contains(bodies[2], `"event":"approval"`) || !strings.Contains(bodies[2], `"waiting_for_approval":["exec.deploy"]`) {
		t.Errorf("approval notification = %v", bodies[len(bodies)-1])
	}

	if _, stderr, code := runAnsflow(t, dir, env, "approve", "exec.deploy"); code != 0 {
		t.Fatalf("approve exited %d\n%s", code, stderr)
	}
	if _, stderr, code := runAnsflow(t, dir, env, "apply", "-auto-approve", "-var", "fail=false"); code != 0 {
		t.Fatalf("apply after approval exited %d\n%s", code, stderr)
	}
	okBodies := ok.got()
	if len(okBodies) != 1 || !strings.Contains(okBodies[0], `"text":"ansflow apply of`) || !strings.Contains(okBodies[0], "succeeded") {
		t.Errorf("success notification (slack) = %v", okBodies)
	}
	if len(team.got()) != 3 {
		t.Errorf("the failure/approval webhook was called for a success")
	}
}
