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
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
	"github.com/ansflow/ansflow/state"
)

// TestMain runs the tests with the binary clitest builds once, on the first
// apply (so not at all when the tests are skipped).
func TestMain(m *testing.M) {
	os.Exit(clitest.Main(m).Run())
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

// startApply starts `ansflow -chdir=dir apply -auto-approve` in the
// background, its stdout and stderr going to one file that the test can
// poll, with env added to the clean environment.
func startApply(t *testing.T, dir string, env ...string) *clitest.Process {
	t.Helper()
	return clitest.New(t, clitest.With(env...)).Start(dir, "apply", "-auto-approve")
}

// applyOnce runs a whole apply and returns its exit code and output.
func applyOnce(t *testing.T, dir string, limit time.Duration, env ...string) (int, string) {
	t.Helper()
	r := startApply(t, dir, env...)
	code := r.Wait(limit)
	return code, r.Output()
}

// readState reads the default workspace's state of the pipeline in dir.
func readState(t *testing.T, dir string) *state.State {
	t.Helper()
	s, err := clitest.ReadState(dir, "")
	if err != nil {
		t.Fatalf("the state does not parse after the fault: %v", err)
	}
	return s
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
	for clitest.Alive(pid) {
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
