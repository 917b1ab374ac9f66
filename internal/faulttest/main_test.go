// Package faulttest stops the services ansflow talks to in the middle of an
// apply (the Kubernetes API server during a k8s_wait, dockerd during a
// docker_build) and checks that the step fails with a message naming the
// endpoint, that retry retries, that the state stays readable and that the
// next apply completes once the service is back.
//
// The tests stop shared services, so they run only with ANSFLOW_FAULTS=1,
// serially, after the main suite:
//
//	ANSFLOW_FAULTS=1 go test -count=1 -v ./internal/faulttest/
package faulttest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ansflow/ansflow/state"
)

// ansflowBin is the binary built once by TestMain; empty when the tests are
// skipped.
var ansflowBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if !faultsEnabled() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "ansflow-faulttest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ansflowBin = filepath.Join(dir, "ansflow")
	out, err := exec.Command("go", "build", "-o", ansflowBin, "github.com/ansflow/ansflow/cmd/ansflow").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building ansflow: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func faultsEnabled() bool { return os.Getenv("ANSFLOW_FAULTS") == "1" }

// requireFaults skips the test unless fault injection was asked for.
func requireFaults(t *testing.T) {
	t.Helper()
	if !faultsEnabled() {
		t.Skip("set ANSFLOW_FAULTS=1 to run fault-injection tests (they stop the Kubernetes API server and dockerd)")
	}
}

// repoRoot is the module root, where hack/ lives.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "hack")); err != nil {
		t.Fatalf("cannot find hack/ from the test's directory: %v", err)
	}
	return root
}

// applyRun is one `ansflow apply` running in the background, its stdout and
// stderr going to one file that the test can poll.
type applyRun struct {
	cmd     *exec.Cmd
	outPath string
	done    chan struct{}
	err     error
	started time.Time
}

// startApply starts `ansflow -chdir=dir apply -auto-approve` with env added
// to the test's environment.
func startApply(t *testing.T, dir string, env ...string) *applyRun {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "apply-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ansflowBin, "-chdir="+dir, "apply", "-auto-approve")
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	cmd.Stdout, cmd.Stderr = out, out
	r := &applyRun{cmd: cmd, outPath: out.Name(), done: make(chan struct{}), started: time.Now()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = cmd.Wait()
		out.Close()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// output is everything the apply printed so far.
func (r *applyRun) output(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(r.outPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitFor polls the output until it contains want; false after limit.
func (r *applyRun) waitFor(t *testing.T, want string, limit time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if strings.Contains(r.output(t), want) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// wait waits for the apply to end and returns its exit code.
func (r *applyRun) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(limit):
		t.Fatalf("apply still runs after %s; output so far:\n%s", limit, r.output(t))
	}
	var exit *exec.ExitError
	switch {
	case r.err == nil:
		return 0
	case errors.As(r.err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("apply: %v", r.err)
	return -1
}

// applyOnce runs a whole apply and returns its exit code and output.
func applyOnce(t *testing.T, dir string, limit time.Duration, env ...string) (int, string) {
	t.Helper()
	r := startApply(t, dir, env...)
	code := r.wait(t, limit)
	return code, r.output(t)
}

// readState reads the default workspace's state of the pipeline in dir.
func readState(t *testing.T, dir string) *state.State {
	t.Helper()
	st := state.NewLocal(filepath.Join(dir, ".ansflow", "state"), "default")
	defer st.Close()
	s, err := st.Read(context.Background())
	if err != nil {
		t.Fatalf("the state does not parse after the fault: %v", err)
	}
	return s
}

// stepStatus is the recorded status of addr, or "" when it is not in state.
func stepStatus(s *state.State, addr string) state.Status {
	if s == nil {
		return ""
	}
	in, ok := s.Instances[addr]
	if !ok {
		return ""
	}
	return in.Status
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// stopProcess sends SIGTERM to pid and waits until it is gone; after grace
// it sends SIGKILL (kube-apiserver drains open watches for a minute).
func stopProcess(t *testing.T, pid int, grace time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to pid %d: %v", pid, err)
	}
	killed := false
	for alive(pid) {
		if !killed && time.Since(start) > grace {
			t.Logf("pid %d still runs %s after SIGTERM; sending SIGKILL", pid, grace)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			killed = true
		}
		if time.Since(start) > grace+30*time.Second {
			t.Fatalf("pid %d still runs %s after SIGKILL", pid, 30*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// checkClean fails when the output shows a panic or a Go struct dump instead
// of a message.
func checkClean(t *testing.T, out string) {
	t.Helper()
	for _, bad := range []string{"panic:", "goroutine ", "&{", "%!"} {
		if strings.Contains(out, bad) {
			t.Errorf("the output contains %q, not a clean message:\n%s", bad, out)
		}
	}
}

// lineWith returns the first line of out containing s.
func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
