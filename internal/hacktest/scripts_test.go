package hacktest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ansflow/ansflow/internal/clitest"
)

// repoRoot is the checkout these tests run in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// standIn starts a long sleep that plays a service; it is killed when the test ends.
func standIn(t *testing.T) int {
	t.Helper()
	c := exec.Command("sleep", "600")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = c.Process.Kill()
		<-done
	})
	return c.Process.Pid
}

type result struct {
	stdout, stderr string
	err            error
}

func runScript(t *testing.T, env []string, script string) result {
	t.Helper()
	c := exec.Command("bash", filepath.Join(repoRoot(t), script))
	c.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	return result{out.String(), errb.String(), err}
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

var components = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// testenv is a control plane of stand-ins: a binary cache whose kubectl
// answers (or not) and a state dir whose pid files name sleeping processes.
type testenv struct {
	env  []string
	dir  string
	pids map[string]int
}

func newTestenv(t *testing.T, apiAnswers bool) *testenv {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash")
	}
	tmp := t.TempDir()
	cache, dir := filepath.Join(tmp, "cache"), filepath.Join(tmp, "state")
	env := []string{"ANSFLOW_TESTENV_CACHE=" + cache, "ANSFLOW_TESTENV_DIR=" + dir, "ANSFLOW_STARTED=" + filepath.Join(tmp, "started")}
	c := exec.Command("bash", "-c", `. "$1"; echo "$TESTENV_BIN"`, "lib", filepath.Join(repoRoot(t), "hack/testenv/lib.sh"))
	c.Env = append(os.Environ(), env...)
	out, err := c.Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := strings.TrimSpace(string(out))
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwok-stages.yaml"} {
		// The stand-in binaries fail at once, so a start-up attempt fails.
		write(t, filepath.Join(bin, name), "#!/bin/sh\necho \"stand-in $0 refuses to start\" >&2\nexit 1\n", 0o755)
	}
	kubectl := "#!/bin/sh\nexit 1\n"
	if apiAnswers {
		kubectl = "#!/bin/sh\necho ok\n"
	}
	write(t, filepath.Join(bin, "kubectl"), kubectl, 0o755)
	write(t, filepath.Join(dir, "kubeconfig"), "apiVersion: v1\nkind: Config\n", 0o600)
	te := &testenv{env: env, dir: dir, pids: map[string]int{}}
	for _, name := range components {
		pid := standIn(t)
		exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, "pids", name+".pid"), strconv.Itoa(pid)+"\n", 0o644)
		write(t, filepath.Join(dir, "pids", name+".exe"), exe+"\n", 0o644)
		te.pids[name] = pid
	}
	return te
}

// The README's order: `make demo` leaves the control plane running, then
// `make test` runs up.sh again. It must reuse it, not fail.
func TestUpReusesHealthyControlPlane(t *testing.T) {
	te := newTestenv(t, true)
	r := runScript(t, te.env, "hack/testenv/up.sh")
	if r.err != nil {
		t.Fatalf("up.sh: %v\nstderr:\n%s", r.err, r.stderr)
	}
	if want := "export KUBECONFIG=" + filepath.Join(te.dir, "kubeconfig") + "\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "reusing the control plane") {
		t.Errorf("stderr does not say it reuses the running control plane:\n%s", r.stderr)
	}
	for name, pid := range te.pids {
		if !clitest.Alive(pid) {
			t.Errorf("%s (pid %d) was stopped", name, pid)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(filepath.Dir(te.dir), "started")); len(b) != 0 {
		t.Errorf("ANSFLOW_STARTED lists %q, but up.sh started nothing", b)
	}
}

// A control plane that is only partly running is stopped and started again;
// a start that fails exits non-zero with the reason and prints no export line.
func TestUpRestartsBrokenControlPlaneAndFailsLoudly(t *testing.T) {
	for _, tc := range []struct {
		name       string
		apiAnswers bool
		kill       string
		want       string
	}{
		{"partly running", true, "kube-scheduler", "only partly running (kube-scheduler not)"},
		{"api server silent", false, "", "its API server does not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := exec.LookPath("openssl"); err != nil {
				t.Skip("needs openssl")
			}
			te := newTestenv(t, tc.apiAnswers)
			if tc.kill != "" {
				_ = syscall.Kill(te.pids[tc.kill], syscall.SIGKILL)
			}
			r := runScript(t, te.env, "hack/testenv/up.sh")
			if r.err == nil {
				t.Fatalf("up.sh succeeded with stand-in binaries that cannot start; stderr:\n%s", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("a failed up.sh printed %q on stdout; want nothing, so an eval of it cannot hide the failure", r.stdout)
			}
			for _, want := range []string{tc.want, "etcd stopped while starting"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			for name, pid := range te.pids {
				if clitest.Alive(pid) {
					t.Errorf("%s (pid %d) of the broken control plane still runs", name, pid)
				}
			}
		})
	}
}

// One checkout's test run must not stop the dockerd or registries another
// run (make demo) started: the pid files in ANSFLOW_DOCKER_RUN are shared.
func TestDockerDownStopsOnlyWhatThisRunStarted(t *testing.T) {
	run := t.TempDir()
	services := map[string]string{
		"dockerd":       filepath.Join(run, "dockerd.pid"),
		"registry":      filepath.Join(run, "registry", "registry.pid"),
		"registry-auth": filepath.Join(run, "registry-auth", "registry.pid"),
	}
	pids := map[string]int{}
	for name, file := range services {
		pids[name] = standIn(t)
		write(t, file, strconv.Itoa(pids[name])+"\n", 0o644)
	}
	write(t, filepath.Join(run, "dockerd.started-by-us"), "", 0o644)
	started := filepath.Join(t.TempDir(), "started")
	write(t, started, "registry\n", 0o644) // this run started only the plain registry

	r := runScript(t, []string{"ANSFLOW_DOCKER_RUN=" + run, "ANSFLOW_STARTED=" + started}, "hack/docker-down.sh")
	if r.err != nil {
		t.Fatalf("docker-down.sh: %v\n%s", r.err, r.stderr)
	}
	for name, pid := range pids {
		if want := name != "registry"; clitest.Alive(pid) != want {
			t.Errorf("%s alive = %v, want %v (stderr:\n%s)", name, !want, want, r.stderr)
		}
	}

	// Without ANSFLOW_STARTED (make services-down by hand) everything
	// docker-up.sh started is stopped.
	r = runScript(t, []string{"ANSFLOW_DOCKER_RUN=" + run, "ANSFLOW_STARTED="}, "hack/docker-down.sh")
	if r.err != nil {
		t.Fatalf("docker-down.sh: %v\n%s", r.err, r.stderr)
	}
	for name, pid := range pids {
		if clitest.Alive(pid) {
			t.Errorf("%s still runs after docker-down.sh without ANSFLOW_STARTED", name)
		}
	}
}
