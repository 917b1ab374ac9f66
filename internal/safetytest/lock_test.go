package safetytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// slowPipeline has one exec step that marks that it started, sleeps (var.sleep,
// default sleep seconds), and
// then appends var.n to runs.log: runs.log has one line per run of the step,
// and does not exist while the first run is still sleeping.
func slowPipeline(sleep string) map[string]string {
	return map[string]string{"main.hcl": fmt.Sprintf(`variable "n" {
  type    = string
  default = "0"
}

variable "sleep" {
  type    = string
  default = "%s"
}

exec "slow" {
  command = ["sh", "-c", "touch started; sleep ${var.sleep}; echo ${var.n} >> runs.log"]
}
`, sleep)}
}

// runLines returns the lines of runs.log.
func runLines(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "runs.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

// whoAmI is the user@host ansflow records as lock holder.
func whoAmI(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Skipf("no current user: %v", err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Skipf("no host name: %v", err)
	}
	return u.Username + "@" + host
}

// lockHolder is what .ansflow/state/default.lock.info says.
type lockHolder struct {
	ID        string `json:"id"`
	Operation string `json:"operation"`
	PID       int    `json:"pid"`
}

// waitFor polls until cond holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// startApply runs `ansflow apply -auto-approve args...` in the background and
// waits until its step is running (so it holds the lock).
type background struct {
	cmd  *exec.Cmd
	out  string // path of the file holding stdout and stderr
	done chan error
}

// output is what the background apply printed so far.
func (b *background) output() string {
	data, _ := os.ReadFile(b.out)
	return string(data)
}

func startApply(t *testing.T, dir string, args ...string) *background {
	t.Helper()
	b := &background{done: make(chan error, 1), out: filepath.Join(t.TempDir(), "output")}
	b.cmd = command(context.Background(), dir, nil, append([]string{"apply", "-auto-approve"}, args...)...)
	// A file, not a pipe: Wait returns when ansflow exits even if a step's
	// process outlives it.
	f, err := os.Create(b.out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b.cmd.Stdout, b.cmd.Stderr = f, f
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() {
		_ = b.cmd.Process.Kill()
		<-b.done
	})
	return b
}

// wait waits for the background apply and returns its exit code.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-b.done:
		b.done <- err // for Cleanup
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(2 * time.Minute):
		t.Fatalf("background apply did not finish\n%s", b.output())
		return -1
	}
}

// TestConcurrentApplies starts ten applies of one workspace at once: one
// runs the step, the nine others fail at once (before the step finishes)
// naming the holder.
func TestConcurrentApplies(t *testing.T) {
	defer tally(t, promiseState)
	const n = 10
	// The step sleeps long enough for ten processes to start on a busy
	// machine with two cores.
	dir := pipelineDir(t, slowPipeline("3"))
	who := whoAmI(t)

	type outcome struct {
		pid              int
		code             int
		out              string
		runFinishedFirst bool // runs.log existed when this apply exited
	}
	outcomes := make([]outcome, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := command(ctx, dir, nil, "apply", "-auto-approve")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Start()
			if err != nil {
				outcomes[i] = outcome{code: -1, out: err.Error()}
				return
			}
			err = cmd.Wait()
			o := outcome{pid: cmd.Process.Pid, out: out.String(), runFinishedFirst: exists(filepath.Join(dir, "runs.log"))}
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				o.code = exit.ExitCode()
			} else if err != nil {
				o.code, o.out = -1, err.Error()
			}
			outcomes[i] = o
		}()
	}
	close(gate)
	wg.Wait()

	var winners []outcome
	for _, o := range outcomes {
		if o.code == 0 {
			winners = append(winners, o)
		}
	}
	if len(winners) != 1 {
		for i, o := range outcomes {
			t.Logf("apply %d (pid %d): exit %d\n%s", i, o.pid, o.code, clip(o.out))
		}
		t.Fatalf("%d applies succeeded, want exactly 1", len(winners))
	}
	winner := winners[0]
	held := 1
	for i, o := range outcomes {
		if o.code == 0 {
			continue
		}
		ok := true
		if crashed(o.out) {
			t.Errorf("apply %d crashed:\n%s", i, o.out)
			ok = false
		}
		if o.runFinishedFirst {
			t.Errorf("apply %d exited only after the running step finished; want it to fail at once", i)
			ok = false
		}
		for _, want := range []string{"locked", fmt.Sprintf("pid %d", winner.pid), who, "apply", "since ", "force-unlock"} {
			if !strings.Contains(o.out, want) {
				t.Errorf("apply %d: message does not name %q:\n%s", i, want, o.out)
				ok = false
			}
		}
		if ok {
			held++
		}
	}
	if got := runLines(t, dir); len(got) != 1 {
		t.Errorf("runs.log has %d lines %q, want 1: the step ran more than once", len(got), got)
		held = 0
	}
	t.Logf("concurrent applies held: %d/%d", held, n)
}

// TestLockTimeoutWaits: an apply with -lock-timeout waits for the holder to
// finish and then runs.
func TestLockTimeoutWaits(t *testing.T) {
	defer tally(t, promiseState)
	dir := pipelineDir(t, slowPipeline("1"))
	first := startApply(t, dir, "-var", "n=first")
	waitFor(t, "the first apply's step to start", func() bool { return exists(filepath.Join(dir, "started")) })

	second := run(t, dir, nil, "apply", "-auto-approve", "-lock-timeout=30s", "-var", "n=second")
	if second.code != 0 {
		t.Fatalf("the waiting apply failed\n%s", second)
	}
	if code := first.wait(t); code != 0 {
		t.Fatalf("the first apply failed: exit %d\n%s", code, first.output())
	}
	if got, want := strings.Join(runLines(t, dir), ","), "first,second"; got != want {
		t.Errorf("runs.log = %s, want %s: the second apply must run after the first", got, want)
	}
}

// TestKilledHolderDoesNotBlock: kill -9 of the lock holder in the middle of
// its step leaves nothing that blocks the next apply.
func TestKilledHolderDoesNotBlock(t *testing.T) {
	defer tally(t, promiseState)
	dir := pipelineDir(t, slowPipeline("5"))
	holder := startApply(t, dir, "-var", "n=killed")
	waitFor(t, "the step to start", func() bool { return exists(filepath.Join(dir, "started")) })
	if err := holder.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	holder.wait(t)

	// The step's shell may outlive ansflow; it must not inherit the lock.
	r := run(t, dir, nil, "apply", "-auto-approve", "-var", "n=next", "-var", "sleep=0")
	if r.code != 0 {
		t.Fatalf("the apply after kill -9 of the holder failed\n%s", r)
	}
	if strings.Contains(r.output(), "locked") {
		t.Errorf("the apply after the kill mentions a lock:\n%s", r)
	}
}

// TestForceUnlock: force-unlock refuses a wrong ID naming the holder, and
// removes the lock given the right one, so another run can take it.
func TestForceUnlock(t *testing.T) {
	defer tally(t, promiseState)
	dir := pipelineDir(t, slowPipeline("5"))
	holder := startApply(t, dir, "-var", "n=holder")
	infoPath := filepath.Join(dir, ".ansflow", "state", "default.lock.info")
	var h lockHolder
	waitFor(t, "the lock info", func() bool {
		data, err := os.ReadFile(infoPath)
		return err == nil && json.Unmarshal(data, &h) == nil && h.ID != ""
	})
	if h.PID != holder.cmd.Process.Pid || h.Operation != "apply" {
		t.Errorf("lock info = %+v, want pid %d operation apply", h, holder.cmd.Process.Pid)
	}

	locked := run(t, dir, nil, "plan", "-var", "n=other")
	if locked.code == 0 || !strings.Contains(locked.output(), h.ID) {
		t.Fatalf("plan while locked: want a failure naming lock %s\n%s", h.ID, locked)
	}
	wrong := run(t, dir, nil, "force-unlock", "not-the-id")
	if wrong.code == 0 || !strings.Contains(wrong.output(), h.ID) {
		t.Errorf("force-unlock with a wrong ID: want a failure naming the real ID %s\n%s", h.ID, wrong)
	}
	mustRun(t, dir, nil, "force-unlock", h.ID)
	if exists(infoPath) {
		t.Errorf("%s still exists after force-unlock", infoPath)
	}
	if r := run(t, dir, nil, "plan", "-var", "n=other"); r.code != 0 {
		t.Errorf("plan after force-unlock failed\n%s", r)
	}
	_ = holder.cmd.Process.Signal(syscall.SIGKILL)
	holder.wait(t)
}

// TestForcedAwayHolderFailsLoudly: the lock of a live apply is forced
// away and a second apply runs to the end meanwhile. When the first one
// records its step, it finds the state changed under it: it must fail
// naming the state and write nothing, and the second one's records stay.
func TestForcedAwayHolderFailsLoudly(t *testing.T) {
	defer tally(t, promiseState)
	dir := pipelineDir(t, slowPipeline("3"))
	first := startApply(t, dir, "-var", "n=first")
	infoPath := filepath.Join(dir, ".ansflow", "state", "default.lock.info")
	var h lockHolder
	waitFor(t, "the first apply's step", func() bool {
		data, err := os.ReadFile(infoPath)
		return exists(filepath.Join(dir, "started")) && err == nil && json.Unmarshal(data, &h) == nil && h.ID != ""
	})
	mustRun(t, dir, nil, "force-unlock", h.ID)
	mustRun(t, dir, nil, "apply", "-auto-approve", "-var", "n=second", "-var", "sleep=0")

	code := first.wait(t)
	out := first.output()
	if code == 0 || !strings.Contains(out, "changed by another run") || !strings.Contains(out, "default.json") {
		t.Errorf("the forced-away apply: want a failure saying the state default.json was changed by another run, got exit %d\n%s", code, out)
	}
	st := mustRun(t, dir, nil, "state", "show", "exec.slow")
	if !strings.Contains(st.stdout, "second") {
		t.Errorf("the second apply's record of exec.slow is gone\n%s", st)
	}
	hist := mustRun(t, dir, nil, "history")
	if !strings.Contains(hist.stdout, "ok") {
		t.Errorf("history lost the second apply\n%s", hist)
	}
}
