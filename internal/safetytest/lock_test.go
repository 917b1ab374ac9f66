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
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
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

// startApply starts `ansflow apply -auto-approve args...` in the background.
func startApply(t *testing.T, dir string, args ...string) *clitest.Process {
	t.Helper()
	return ansflow(t, nil).Start(dir, append([]string{"apply", "-auto-approve"}, args...)...)
}

// TestConcurrentApplies starts ten applies of one workspace at once: one
// runs the step, the nine others fail at once (before the step finishes)
// naming the holder.
func TestConcurrentApplies(t *testing.T) {
	defer tally(t, promiseState)
	const n = 10
	// The step sleeps long enough for ten processes to start on a busy
	// machine with two cores.
	dir := clitest.Dir(t, slowPipeline("3"))
	who := whoAmI(t)

	type outcome struct {
		pid              int
		code             int
		out              string
		runFinishedFirst bool // runs.log existed when this apply exited
	}
	outcomes := make([]outcome, n)
	cli := ansflow(t, nil)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := cli.Command(ctx, dir, "apply", "-auto-approve")
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
			t.Logf("apply %d (pid %d): exit %d\n%s", i, o.pid, o.code, clitest.Clip(o.out))
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
	dir := clitest.Dir(t, slowPipeline("1"))
	first := startApply(t, dir, "-var", "n=first")
	waitFor(t, "the first apply's step to start", func() bool { return exists(filepath.Join(dir, "started")) })

	second := run(t, dir, nil, "apply", "-auto-approve", "-lock-timeout=30s", "-var", "n=second")
	if second.Code != 0 {
		t.Fatalf("the waiting apply failed\n%s", second)
	}
	if code := first.Wait(2 * time.Minute); code != 0 {
		t.Fatalf("the first apply failed: exit %d\n%s", code, first.Output())
	}
	if got, want := strings.Join(runLines(t, dir), ","), "first,second"; got != want {
		t.Errorf("runs.log = %s, want %s: the second apply must run after the first", got, want)
	}
}

// TestKilledHolderDoesNotBlock: kill -9 of the lock holder in the middle of
// its step leaves nothing that blocks the next apply.
func TestKilledHolderDoesNotBlock(t *testing.T) {
	defer tally(t, promiseState)
	dir := clitest.Dir(t, slowPipeline("5"))
	holder := startApply(t, dir, "-var", "n=killed")
	waitFor(t, "the step to start", func() bool { return exists(filepath.Join(dir, "started")) })
	if err := holder.Kill(); err != nil {
		t.Fatal(err)
	}
	holder.Wait(2 * time.Minute)

	// The step's shell may outlive ansflow; it must not inherit the lock.
	r := run(t, dir, nil, "apply", "-auto-approve", "-var", "n=next", "-var", "sleep=0")
	if r.Code != 0 {
		t.Fatalf("the apply after kill -9 of the holder failed\n%s", r)
	}
	if strings.Contains(r.Output(), "locked") {
		t.Errorf("the apply after the kill mentions a lock:\n%s", r)
	}
}

// TestForceUnlock: force-unlock refuses a wrong ID naming the holder, and
// removes the lock given the right one, so another run can take it.
func TestForceUnlock(t *testing.T) {
	defer tally(t, promiseState)
	dir := clitest.Dir(t, slowPipeline("5"))
	holder := startApply(t, dir, "-var", "n=holder")
	infoPath := filepath.Join(dir, ".ansflow", "state", "default.lock.info")
	var h lockHolder
	waitFor(t, "the lock info", func() bool {
		data, err := os.ReadFile(infoPath)
		return err == nil && json.Unmarshal(data, &h) == nil && h.ID != ""
	})
	if h.PID != holder.Pid() || h.Operation != "apply" {
		t.Errorf("lock info = %+v, want pid %d operation apply", h, holder.Pid())
	}

	locked := run(t, dir, nil, "plan", "-var", "n=other")
	if locked.Code == 0 || !strings.Contains(locked.Output(), h.ID) {
		t.Fatalf("plan while locked: want a failure naming lock %s\n%s", h.ID, locked)
	}
	wrong := run(t, dir, nil, "force-unlock", "not-the-id")
	if wrong.Code == 0 || !strings.Contains(wrong.Output(), h.ID) {
		t.Errorf("force-unlock with a wrong ID: want a failure naming the real ID %s\n%s", h.ID, wrong)
	}
	mustRun(t, dir, nil, "force-unlock", h.ID)
	if exists(infoPath) {
		t.Errorf("%s still exists after force-unlock", infoPath)
	}
	if r := run(t, dir, nil, "plan", "-var", "n=other"); r.Code != 0 {
		t.Errorf("plan after force-unlock failed\n%s", r)
	}
	_ = holder.Kill()
	holder.Wait(2 * time.Minute)
}

// TestForcedAwayHolderFailsLoudly: the lock of a live apply is forced
// away and a second apply runs to the end meanwhile. When the first one
// records its step, it finds the state changed under it: it must fail
// naming the state and write nothing, and the second one's records stay.
func TestForcedAwayHolderFailsLoudly(t *testing.T) {
	defer tally(t, promiseState)
	dir := clitest.Dir(t, slowPipeline("3"))
	first := startApply(t, dir, "-var", "n=first")
	infoPath := filepath.Join(dir, ".ansflow", "state", "default.lock.info")
	var h lockHolder
	waitFor(t, "the first apply's step", func() bool {
		data, err := os.ReadFile(infoPath)
		return exists(filepath.Join(dir, "started")) && err == nil && json.Unmarshal(data, &h) == nil && h.ID != ""
	})
	mustRun(t, dir, nil, "force-unlock", h.ID)
	mustRun(t, dir, nil, "apply", "-auto-approve", "-var", "n=second", "-var", "sleep=0")

	code := first.Wait(2 * time.Minute)
	out := first.Output()
	if code == 0 || !strings.Contains(out, "changed by another run") || !strings.Contains(out, "default.json") {
		t.Errorf("the forced-away apply: want a failure saying the state default.json was changed by another run, got exit %d\n%s", code, out)
	}
	st := mustRun(t, dir, nil, "state", "show", "exec.slow")
	if !strings.Contains(st.Stdout, "second") {
		t.Errorf("the second apply's record of exec.slow is gone\n%s", st)
	}
	hist := mustRun(t, dir, nil, "history")
	if !strings.Contains(hist.Stdout, "ok") {
		t.Errorf("history lost the second apply\n%s", hist)
	}
}
