package faulttest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
	"github.com/ansflow/ansflow/state"
)

// controlPlane is a private control plane started by hack/testenv/up.sh.
type controlPlane struct {
	dir        string // ANSFLOW_TESTENV_DIR
	kubeconfig string
	kubectl    string
	endpoint   string       // https://127.0.0.1:PORT
	cleanup    func(func()) // the whole test's t.Cleanup, for what outlives a subtest
}

// startControlPlane starts a private control plane and stops it when the
// test ends.
func startControlPlane(t *testing.T) *controlPlane {
	t.Helper()
	root := repoRoot(t)
	dir := filepath.Join(t.TempDir(), "testenv")
	// This control plane is the test's own (its cleanup stops it): it must
	// not be recorded as one hack/test.sh started, or the run's cleanup would
	// stop the shared one in the default directory.
	env := append(os.Environ(), "ANSFLOW_TESTENV_DIR="+dir, "ANSFLOW_STARTED=")
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(root, "hack/testenv/down.sh"))
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("hack/testenv/down.sh: %v\n%s", err, out)
		}
	})
	start := time.Now()
	cmd := exec.Command(filepath.Join(root, "hack/testenv/up.sh"))
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if _, err := cmd.Output(); err != nil {
		t.Fatalf("hack/testenv/up.sh (needed under ANSFLOW_FAULTS=1): %v\n%s", err, stderr.String())
	}
	t.Logf("control plane up in %s", time.Since(start).Round(time.Millisecond))
	ports := readKeyValues(t, filepath.Join(dir, "ports"), "=")
	envs := readKeyValues(t, filepath.Join(dir, "env"), "=")
	return &controlPlane{
		dir:        dir,
		kubeconfig: filepath.Join(dir, "kubeconfig"),
		kubectl:    filepath.Join(envs["export ANSFLOW_TESTENV_BIN"], "kubectl"),
		endpoint:   "https://127.0.0.1:" + ports["kube-apiserver"],
		cleanup:    t.Cleanup,
	}
}

// readKeyValues reads KEY<sep>VALUE lines.
func readKeyValues(t *testing.T, path, sep string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, sep); ok {
			m[k] = v
		}
	}
	return m
}

// apiServerPid is the pid recorded by up.sh.
func (cp *controlPlane) apiServerPid(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cp.dir, "pids", "kube-apiserver.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// stopAPIServer stops kube-apiserver and returns its argv, to start it again.
func (cp *controlPlane) stopAPIServer(t *testing.T) []string {
	t.Helper()
	pid := cp.apiServerPid(t)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatalf("reading kube-apiserver's command line: %v", err)
	}
	argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	took := stopProcess(t, pid, 10*time.Second)
	t.Logf("kube-apiserver (pid %d) stopped %s after SIGTERM", pid, took.Round(time.Millisecond))
	return argv
}

// restartAPIServer starts kube-apiserver again with argv, records its pid
// where down.sh finds it, and waits until it is ready.
func (cp *controlPlane) restartAPIServer(t *testing.T, argv []string) {
	t.Helper()
	start := time.Now()
	log, err := os.Create(filepath.Join(cp.dir, "logs", fmt.Sprintf("kube-apiserver-restart-%d.log", start.UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("restarting kube-apiserver: %v", err)
	}
	pid := cmd.Process.Pid
	go cmd.Wait() // reap it whenever it ends
	cp.cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if err := os.WriteFile(filepath.Join(cp.dir, "pids", "kube-apiserver.pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for {
		if cp.kubectlRun(context.Background(), "get", "--raw=/readyz") == nil {
			break
		}
		if time.Since(start) > 90*time.Second {
			t.Fatalf("kube-apiserver not ready 90s after restart (log: %s)", log.Name())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("kube-apiserver restarted and ready in %s", time.Since(start).Round(time.Millisecond))
}

func (cp *controlPlane) kubectlRun(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cp.kubectl, append([]string{"--kubeconfig", cp.kubeconfig}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// createDeployment creates a one-replica deployment that kwok makes available.
func (cp *controlPlane) createDeployment(t *testing.T, name string) {
	t.Helper()
	if err := cp.kubectlRun(context.Background(), "-n", "default", "create", "deployment", name, "--image=x", "--replicas=1"); err != nil {
		t.Fatal(err)
	}
}

// waitPipeline writes a pipeline with one k8s_wait on a deployment.
func waitPipeline(t *testing.T, dir, name, timeout string, attempts int, delay string) {
	t.Helper()
	src := fmt.Sprintf(`k8s_wait "w" {
  kind      = "deployment"
  name      = %q
  condition = "available"
  timeout   = %q
  retry {
    attempts = %d
    delay    = %q
  }
}
`, name, timeout, attempts, delay)
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKubeAPIServerStopsDuringWait stops kube-apiserver while a k8s_wait
// waits, twice: once brought back within the retry delay (the retry
// succeeds in the same apply), once with no retry left (the apply fails
// cleanly and the next apply completes).
func TestKubeAPIServerStopsDuringWait(t *testing.T) {
	requireFaults(t)
	cp := startControlPlane(t)
	env := []string{"KUBECONFIG=" + cp.kubeconfig}

	t.Run("retry succeeds after restart", func(t *testing.T) {
		dir := t.TempDir()
		waitPipeline(t, dir, "never-created", "20s", 2, "20s")
		r := startApply(t, dir, env...)
		if !r.WaitFor("does not exist yet", 30*time.Second) {
			t.Fatalf("the wait did not start within 30s:\n%s", r.Output())
		}
		argv := cp.stopAPIServer(t)
		stopped := time.Now()
		if !r.WaitFor("attempt 1 of 2 failed", 40*time.Second) {
			cp.restartAPIServer(t, argv)
			t.Fatalf("the first attempt did not fail within 40s of stopping kube-apiserver at %s:\n%s", cp.endpoint, r.Output())
		}
		out := r.Output()
		t.Logf("first attempt failed %s after the stop: %s", time.Since(stopped).Round(time.Millisecond), lineWith(out, "attempt 1 of 2 failed"))
		if !strings.Contains(lineWith(out, "attempt 1 of 2 failed"), cp.endpoint) {
			t.Errorf("the first attempt's failure does not name the endpoint %s (the watch kept retrying until the step's timeout?): %q", cp.endpoint, lineWith(out, "attempt 1 of 2 failed"))
		}
		cp.restartAPIServer(t, argv)
		cp.createDeployment(t, "never-created")
		code := r.Wait(2 * time.Minute)
		out = r.Output()
		t.Logf("apply exited %d after %s:\n%s", code, time.Since(r.Started).Round(time.Millisecond), out)
		checkClean(t, out)
		if code != 0 {
			t.Fatalf("the retried attempt should succeed once kube-apiserver is back; exit %d", code)
		}
		if got := clitest.Status(readState(t, dir), "k8s_wait.w"); got != state.StatusOK {
			t.Errorf("k8s_wait.w recorded as %q, want ok", got)
		}
	})

	t.Run("fails cleanly then next apply completes", func(t *testing.T) {
		dir := t.TempDir()
		waitPipeline(t, dir, "never-created-2", "20s", 1, "1s")
		r := startApply(t, dir, env...)
		if !r.WaitFor("does not exist yet", 30*time.Second) {
			t.Fatalf("the wait did not start within 30s:\n%s", r.Output())
		}
		argv := cp.stopAPIServer(t)
		stopped := time.Now()
		code := r.Wait(90 * time.Second)
		out := r.Output()
		t.Logf("apply exited %d %s after the stop:\n%s", code, time.Since(stopped).Round(time.Millisecond), out)
		cp.restartAPIServer(t, argv)
		checkClean(t, out)
		if code == 0 {
			t.Fatalf("apply succeeded although kube-apiserver was stopped during the wait")
		}
		if !strings.Contains(lineWith(out, "k8s_wait.w: Failed"), cp.endpoint) {
			t.Errorf("the failure does not name the endpoint %s (the watch kept retrying until the step's timeout?): %q", cp.endpoint, lineWith(out, "k8s_wait.w: Failed"))
		}
		if got := clitest.Status(readState(t, dir), "k8s_wait.w"); got == state.StatusOK {
			t.Errorf("k8s_wait.w recorded as ok after it failed")
		}
		cp.createDeployment(t, "never-created-2")
		// After the restart the controllers and kwok reconnect with backoff:
		// the deployment can take more than 20s to become available.
		waitPipeline(t, dir, "never-created-2", "120s", 1, "1s")
		code, out = applyOnce(t, dir, 2*time.Minute, env...)
		if code != 0 {
			t.Fatalf("the next apply exited %d once kube-apiserver was back:\n%s", code, out)
		}
		if got := clitest.Status(readState(t, dir), "k8s_wait.w"); got != state.StatusOK {
			t.Errorf("k8s_wait.w recorded as %q after the next apply, want ok", got)
		}
	})
}
