package faulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
	"github.com/ansflow/ansflow/state"
)

const (
	baseImage  = "ansflow-fault-base:1"
	buildImage = "ansflow-fault"
)

// dockerEngine is a Docker Engine on /var/run/docker.sock that
// hack/docker-up.sh started, and so may be stopped and started again.
type dockerEngine struct {
	runDir string // ANSFLOW_DOCKER_RUN
	root   string // repository root, for hack/docker-up.sh
}

// requireOwnDockerd returns the engine, or fails when nobody vouches that it
// may be stopped.
func requireOwnDockerd(t *testing.T) *dockerEngine {
	t.Helper()
	runDir := os.Getenv("ANSFLOW_DOCKER_RUN")
	if runDir == "" {
		runDir = "/tmp/ansflow-docker"
	}
	if _, err := os.Stat(filepath.Join(runDir, "dockerd.started-by-us")); err != nil {
		t.Fatalf("ANSFLOW_FAULTS=1 needs a dockerd this test may stop: one started by hack/docker-up.sh, which leaves %s/dockerd.started-by-us (%v)", runDir, err)
	}
	e := &dockerEngine{runDir: runDir, root: repoRoot(t)}
	if !e.answers() {
		t.Fatalf("dockerd (started by hack/docker-up.sh) does not answer on unix:///var/run/docker.sock; run hack/docker-up.sh")
	}
	// Whatever happens, leave the engine running for whoever comes next.
	t.Cleanup(func() {
		if !e.answers() {
			e.start(t)
		}
	})
	return e
}

func (e *dockerEngine) answers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "-H", "unix:///var/run/docker.sock", "version").Run() == nil
}

func (e *dockerEngine) pid(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.runDir, "dockerd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// stop sends SIGTERM to dockerd and waits until it has exited.
func (e *dockerEngine) stop(t *testing.T) {
	t.Helper()
	pid := e.pid(t)
	took := stopProcess(t, pid, 30*time.Second)
	if e.answers() {
		t.Fatalf("something still answers on /var/run/docker.sock after dockerd (pid %d) exited", pid)
	}
	t.Logf("dockerd (pid %d) stopped %s after SIGTERM", pid, took.Round(time.Millisecond))
}

// start runs hack/docker-up.sh, which starts dockerd when it does not answer.
func (e *dockerEngine) start(t *testing.T) {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(filepath.Join(e.root, "hack/docker-up.sh")).CombinedOutput()
	if err != nil {
		t.Errorf("hack/docker-up.sh: %v\n%s", err, out)
		return
	}
	t.Logf("dockerd restarted by hack/docker-up.sh in %s", time.Since(start).Round(time.Millisecond))
}

// docker runs the docker CLI.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buildBaseImage builds FROM scratch an image holding /pause, a static
// binary that sleeps for the seconds given as its argument.
func buildBaseImage(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	src := "package main\n\nimport (\n\t\"os\"\n\t\"strconv\"\n\t\"time\"\n)\n\n" +
		"func main() {\n\tn, _ := strconv.Atoi(os.Args[1])\n\ttime.Sleep(time.Duration(n) * time.Second)\n}\n"
	must(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module pause\n\ngo 1.21\n"), 0o644))
	build := exec.Command("go", "build", "-o", "pause", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("compiling /pause: %v\n%s", err, out)
	}
	must(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY pause /pause\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("main.go\ngo.mod\n"), 0o644))
	cmd := exec.Command("docker", "build", "-t", baseImage, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", baseImage, err, out)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// slowBuildPipeline writes a docker_build whose second step sleeps 8 s and
// whose context changes on every call, so that every apply builds.
func slowBuildPipeline(t *testing.T, dir string) {
	t.Helper()
	ctx := filepath.Join(dir, "ctx")
	must(t, os.MkdirAll(ctx, 0o755))
	must(t, os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM "+baseImage+"\nRUN [\"/pause\", \"8\"]\nCOPY stamp /stamp\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(ctx, "stamp"), []byte(strconv.FormatInt(time.Now().UnixNano(), 10)), 0o644))
	src := fmt.Sprintf(`docker_build "slow" {
  image   = %q
  context = "ctx"
  retry {
    attempts = 2
    delay    = "5s"
  }
}
`, buildImage)
	must(t, os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644))
}

// builtImages collects the IDs of the images the applies built, so that
// they can be removed before the base image they all derive from.
type builtImages struct{ ids []string }

// record adds the image_id docker_build.slow has in st, if any.
func (b *builtImages) record(st *state.State) {
	in, ok := st.Instances["docker_build.slow"]
	if !ok {
		return
	}
	var out struct {
		ImageID string `json:"image_id"`
	}
	if json.Unmarshal(in.Outputs, &out) == nil && out.ImageID != "" {
		b.ids = append(b.ids, out.ImageID)
	}
}

// remove removes the built images (newest first; their untagged parents go
// with them), then the base image.
func (b *builtImages) remove(t *testing.T) {
	refs := []string{buildImage}
	for i := len(b.ids) - 1; i >= 0; i-- {
		refs = append(refs, b.ids[i])
	}
	for _, ref := range append(refs, baseImage) {
		if out, err := exec.Command("docker", "rmi", ref).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such image") {
			t.Logf("docker rmi %s: %v: %s", ref, err, strings.TrimSpace(string(out)))
		}
	}
}

// TestDockerdStopsDuringBuild stops dockerd while a docker_build runs a
// RUN step, starts it again a second later, and checks the failure message,
// the retry, the state, and that the next apply completes.
func TestDockerdStopsDuringBuild(t *testing.T) {
	requireFaults(t)
	e := requireOwnDockerd(t)
	var built builtImages
	t.Cleanup(func() { built.remove(t) })
	buildBaseImage(t)

	dir := t.TempDir()
	slowBuildPipeline(t, dir)
	r := startApply(t, dir)
	if !r.WaitFor(`RUN ["/pause"`, 60*time.Second) {
		t.Fatalf("the build did not reach its RUN step within 60s:\n%s", r.Output())
	}
	time.Sleep(2 * time.Second)
	e.stop(t)
	stopped := time.Now()
	time.Sleep(time.Second)
	e.start(t)

	code := r.Wait(3 * time.Minute)
	out := r.Output()
	t.Logf("apply exited %d, %s after dockerd was stopped:\n%s", code, time.Since(stopped).Round(time.Millisecond), out)
	checkClean(t, out)
	retry := lineWith(out, "attempt 1 of 2 failed")
	if retry == "" {
		t.Errorf("the output does not show the first attempt failing and a retry")
	} else if !strings.Contains(retry, "docker.sock") && !strings.Contains(strings.ToLower(retry), "daemon") {
		t.Errorf("the first attempt's failure names neither unix:///var/run/docker.sock nor the Docker daemon: %q", retry)
	}
	st := readState(t, dir)
	built.record(st)
	switch got := clitest.Status(st, "docker_build.slow"); {
	case code == 0 && got != state.StatusOK:
		t.Errorf("apply succeeded but docker_build.slow is recorded as %q", got)
	case code != 0 && got == state.StatusOK:
		t.Errorf("apply failed but docker_build.slow is recorded as ok")
	}

	slowBuildPipeline(t, dir) // a new stamp: the next apply builds again
	start := time.Now()
	code, out = applyOnce(t, dir, 3*time.Minute)
	if code != 0 {
		t.Fatalf("the next apply exited %d with dockerd back:\n%s", code, out)
	}
	t.Logf("the next apply completed in %s: %s", time.Since(start).Round(time.Millisecond), lineWith(out, "docker_build.slow: Built"))
	st = readState(t, dir)
	built.record(st)
	if got := clitest.Status(st, "docker_build.slow"); got != state.StatusOK {
		t.Errorf("docker_build.slow recorded as %q after the next apply, want ok", got)
	}
}
