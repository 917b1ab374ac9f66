package cmd_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
	"github.com/ansflow/ansflow/internal/uifixture"
	"github.com/chromedp/chromedp"
)

// chromium finds a Chromium to drive: $ANSFLOW_CHROMIUM, else chromium or
// chromium-browser on PATH. Missing, the test skips locally and fails
// under CI=true (hack/deps.sh installs Debian's chromium).
func chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ANSFLOW_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is needed for the dashboard's browser tests and is not installed on CI; hack/deps.sh installs it (apt-get install chromium)")
	}
	t.Skip("Chromium is not installed (apt-get install chromium); skipping the browser tests")
	return ""
}

// browser starts a headless Chromium with a fresh profile that makes no
// background connections, and collects console errors, uncaught exceptions
// and log errors (Content-Security-Policy violations, failed loads).
func browser(t testing.TB) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // as root
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1480, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s (%s)", m, m.URL))
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := os.Getenv("ANSFLOW_SCREENSHOTS")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("screenshot: %s", path)
}

// livePipeline has a step that waits for a file the test creates, so the
// test sees it running, then succeeding; and a step that fails with a
// message on stderr.
const livePipeline = `
exec "prepare" {
  command = ["sh", "-c", "echo preparing"]
}

exec "gate" {
  command    = ["sh", "-c", "echo waiting for the gate; while [ ! -e gate ]; do sleep 0.05; done; echo gate open"]
  depends_on = [exec.prepare]
}

exec "lint" {
  command    = ["sh", "-c", "echo 'lint: main.go:3: unused variable x' >&2; exit 2"]
  depends_on = [exec.prepare]
}

exec "publish" {
  command    = ["sh", "-c", "echo published"]
  depends_on = [exec.gate]
}
`

// TestUIInChromium opens a run page while the apply runs and watches a
// step go from running to succeeded without a reload, then opens the
// failed step and reads its stderr; no console errors on the way.
func TestUIInChromium(t *testing.T) {
	ctx, problems := browser(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(livePipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	base := startUI(t, dir)
	apply := ansflow(t).Command(context.Background(), dir, "apply", "-auto-approve")
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	applied := make(chan error, 1)
	go func() { applied <- apply.Wait() }()
	t.Cleanup(func() {
		_ = os.WriteFile(filepath.Join(dir, "gate"), nil, 0o644)
		<-applied
	})
	waitFor(t, filepath.Join(dir, ".ansflow", "logs", "1", "events.jsonl"))

	gate := `svg.graph g.node[data-addr="exec.gate"]`
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.Navigate(base+"/runs/1"),
		chromedp.WaitVisible(chromedp.CSS(gate+".st-running")),
		chromedp.WaitVisible(chromedp.CSS(`#live-note`)),
	)
	if err != nil {
		t.Fatalf("the run page does not show exec.gate running: %v", err)
	}
	if _, err := chromedp.Run(step, chromedp.Evaluate[bool](`window.ansflowNoReload = true`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "run-live.png")
	if err := os.WriteFile(filepath.Join(dir, "gate"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(step,
		chromedp.WaitVisible(chromedp.CSS(gate+".st-succeeded")),
		chromedp.WaitVisible(chromedp.CSS(`svg.graph g.node.st-succeeded[data-addr="exec.publish"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-result.res-failed`)),
		chromedp.WaitVisible(chromedp.CSS(`#timeline svg.timeline g.row.st-succeeded[data-addr="exec.publish"]`)),
	)
	if err != nil {
		t.Fatalf("exec.gate did not turn succeeded live: %v", err)
	}
	if noReload, err := chromedp.Run(step, chromedp.Evaluate[bool](`window.ansflowNoReload === true`)); err != nil || !noReload {
		t.Errorf("the page was reloaded (%v); it should update in place", err)
	}
	if row, err := chromedp.Run(step, chromedp.Text(chromedp.CSS(`tr[data-addr="exec.gate"] .status`))); err != nil || strings.TrimSpace(row) != "succeeded" {
		t.Errorf("exec.gate's row says %q (%v), want succeeded", row, err)
	}
	screenshot(t, ctx, "run-done.png")

	err = chromedp.Do(step,
		chromedp.Click(chromedp.CSS(`tr[data-addr="exec.lint"] a`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`#log-stderr`)),
	)
	if err != nil {
		t.Fatalf("opening the failed step: %v", err)
	}
	stderr, _ := chromedp.Run(step, chromedp.Text(chromedp.CSS(`#log-stderr`)))
	status, _ := chromedp.Run(step, chromedp.Text(chromedp.CSS(`#step-status`)))
	if !strings.Contains(stderr, "lint: main.go:3: unused variable x") || status != "failed" {
		t.Errorf("step page: status %q, stderr %q", status, stderr)
	}
	screenshot(t, ctx, "step-failed.png")
	for _, p := range []string{"/", "/plans", "/stats"} {
		if err := chromedp.Do(step, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS(`main h1`))); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	screenshot(t, ctx, "stats.png")
	time.Sleep(200 * time.Millisecond) // let the last console messages arrive
	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

func waitFor(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", path)
}

// BenchmarkRunPageInChromium measures how long Chromium takes to load and
// draw the page of a run of 5,000 steps served by ansflow ui: from the
// navigation to the load event (the page, its stylesheet and script,
// parsed, laid out and painted), as the page's Navigation Timing reports it.
// bench/ui.sh runs it with the handler's benchmark.
func BenchmarkRunPageInChromium(b *testing.B) {
	ctx, _ := browser(b)
	dir := b.TempDir()
	if err := uifixture.Write(dir, 5000); err != nil {
		b.Fatal(err)
	}
	base := startUI(b, dir)
	var total float64
	n := 0
	for b.Loop() {
		err := chromedp.Do(ctx, chromedp.Navigate(base+"/runs/1"), chromedp.WaitVisible(chromedp.CSS(`#timeline svg.timeline`)))
		if err != nil {
			b.Fatal(err)
		}
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => { const e = performance.getEntriesByType("navigation")[0]; return e.loadEventEnd - e.startTime; })()`))
		if err != nil {
			b.Fatal(err)
		}
		total += ms
		n++
	}
	b.ReportMetric(total/float64(n), "ms/load")
}

// TestUIDemo watches a real pipeline's apply in the dashboard, for the
// README's screenshot: ANSFLOW_UI_DEMO_DIR names the pipeline directory and
// ANSFLOW_UI_DEMO_ARGS the apply's flags (space-separated). It opens the
// new run's page as soon as the apply starts, takes a screenshot while a
// step runs and one at the end, without reloading. Skipped unless set.
func TestUIDemo(t *testing.T) {
	dir := os.Getenv("ANSFLOW_UI_DEMO_DIR")
	if dir == "" {
		t.Skip("ANSFLOW_UI_DEMO_DIR is not set")
	}
	ctx, problems := browser(t)
	base := startUI(t, dir)
	before, _ := filepath.Glob(filepath.Join(dir, ".ansflow", "logs", "*", "events.jsonl"))
	// A real pipeline of the user's: it gets the cluster, the engine, the
	// user's HOME (and so the XDG directories), docker credentials,
	// workspace and ANSFLOW_VAR_* variables.
	cli := ansflow(t, clitest.Keep("KUBECONFIG", "DOCKER_HOST", "DOCKER_CONFIG", "HOME", "ANSFLOW_VAR_*", "ANSFLOW_WORKSPACE"))
	apply := cli.Command(context.Background(), dir, append([]string{"apply", "-auto-approve"}, strings.Fields(os.Getenv("ANSFLOW_UI_DEMO_ARGS"))...)...)
	apply.Stdout, apply.Stderr = os.Stderr, os.Stderr
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	defer apply.Wait()
	deadline := time.Now().Add(time.Minute)
	for {
		now, _ := filepath.Glob(filepath.Join(dir, ".ansflow", "logs", "*", "events.jsonl"))
		if len(now) > len(before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the apply wrote no events file")
		}
		time.Sleep(50 * time.Millisecond)
	}
	step, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(base+"/runs/latest"), chromedp.WaitVisible(chromedp.CSS(`svg.graph g.node.st-running`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(step, chromedp.Evaluate[bool](`window.ansflowNoReload = true`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "demo-live.png")
	if err := chromedp.Do(step, chromedp.WaitVisible(chromedp.CSS(`#run-result:not(.res-running)`)), chromedp.Sleep(time.Second)); err != nil {
		t.Fatal(err)
	}
	if ok, err := chromedp.Run(step, chromedp.Evaluate[bool](`window.ansflowNoReload === true`)); err != nil || !ok {
		t.Errorf("the page was reloaded (%v)", err)
	}
	screenshot(t, ctx, "demo-done.png")
	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}
