package cmd_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// canary is a secret given to the pipeline as a sensitive variable; no
// page or stream of the dashboard may ever hold it.
const canary = "canary-7f3a9c1e5b"

// uiPipeline has a step that prints the secret on both streams, a step
// retried once, a failing step with a message on stderr, one skipped after
// it, and a chain of steps that succeed.
const uiPipeline = `
variable "token" {
  type      = string
  sensitive = true
}

exec "prepare" {
  command = ["sh", "-c", "echo preparing; echo using ${var.token}; echo also ${var.token} >&2"]
}

exec "build" {
  command = ["sh", "-c", "echo building; sleep 0.2"]
  env     = { TOKEN = var.token }
  depends_on = [exec.prepare]
}

exec "flaky" {
  command = ["sh", "-c", "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 2 ]"]
  retry {
    attempts = 2
    delay    = "10ms"
  }
  depends_on = [exec.prepare]
}

exec "lint" {
  command = ["sh", "-c", "echo 'lint: main.go:3: unused variable x' >&2; exit 2"]
  depends_on = [exec.build]
}

exec "publish" {
  command    = ["true"]
  depends_on = [exec.lint, exec.flaky]
}
`

// startUI starts `ansflow ui` on a free loopback port and returns its
// address; it is stopped when the test ends.
func startUI(t testing.TB, dir string, args ...string) string {
	t.Helper()
	c := ansflow(t).Command(context.Background(), dir, append([]string{"ui", "-addr=127.0.0.1:0"}, args...)...)
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = c.Process.Kill()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("ansflow ui printed no address: %v", err)
	}
	m := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`).FindString(line)
	if m == "" {
		t.Fatalf("no address in %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return strings.TrimSuffix(m, "/")
}

func setupUIPipeline(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(uiPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, []string{"ANSFLOW_WORKSPACE=", "ANSFLOW_VAR_token=" + canary, "NO_COLOR=1"}
}

var hrefRE = regexp.MustCompile(`(?:href|src)="(/[^"]*)"`)

// TestUINeverShowsTheSecret applies a pipeline whose steps print a
// sensitive value, saves a plan, then crawls every page the dashboard links
// to, every fragment and every event stream (run events and each step's
// logs), and checks none holds the secret.
func TestUINeverShowsTheSecret(t *testing.T) {
	dir, env := setupUIPipeline(t)
	if out, code := ansflowRun(t, dir, env, "apply", "-auto-approve"); code != 1 || !strings.Contains(out, "exec.lint") {
		t.Fatalf("apply: exit %d, want 1 (exec.lint fails)\n%s", code, out)
	}
	if out, code := ansflowRun(t, dir, env, "plan", "-out=release.plan"); code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, out)
	}
	base := startUI(t, dir)
	seen := map[string]bool{}
	queue := []string{"/", "/runs/latest", "/plans", "/stats", "/runs/1/timeline", "/runs/1/events"}
	for _, a := range []string{"exec.prepare", "exec.build", "exec.flaky", "exec.lint", "exec.publish"} {
		for _, s := range []string{"stdout", "stderr"} {
			queue = append(queue, "/runs/1/log?"+url.Values{"addr": {a}, "stream": {s}}.Encode())
		}
	}
	pages := 0
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		body, code := fetch(t, base+p)
		if code != 200 {
			t.Errorf("%s: status %d", p, code)
		}
		pages++
		if strings.Contains(body, canary) {
			t.Errorf("%s shows the secret", p)
		}
		for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
			queue = append(queue, strings.ReplaceAll(m[1], "&amp;", "&"))
		}
	}
	if pages < 20 {
		t.Errorf("crawled only %d pages", pages)
	}
	// What the dashboard shows instead.
	body, _ := fetch(t, base+"/runs/1/step?addr=exec.prepare")
	if !strings.Contains(body, "using (sensitive value)") {
		t.Errorf("the step page of exec.prepare does not show its redacted stdout")
	}
	body, _ = fetch(t, base+"/runs/1/step?addr=exec.lint")
	if !strings.Contains(body, "lint: main.go:3: unused variable x") {
		t.Errorf("the step page of exec.lint does not show its stderr")
	}
}

func fetch(t *testing.T, u string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return string(b), resp.StatusCode
}

func TestUIRefusesAnOpenAddressWithoutToken(t *testing.T) {
	dir := t.TempDir()
	out, code := ansflowRun(t, dir, nil, "ui", "-addr=0.0.0.0:0")
	if code != 1 || !strings.Contains(out, "-addr=0.0.0.0:0 can be reached from other machines") || !strings.Contains(out, "-token=") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}
