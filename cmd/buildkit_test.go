package cmd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
)

// issueDockerfile is the Dockerfile of issue 15, with the base image passed
// as a build argument.
const issueDockerfile = `ARG BASE
FROM ${BASE} AS base
FROM base AS build
COPY --chmod=0755 run.sh /usr/local/bin/run.sh
COPY src /src
RUN --mount=type=cache,target=/cache cat /src/* >> /cache/all && cp /cache/all /built
RUN --mount=type=secret,id=token test -s /run/secrets/token
CMD ["/usr/local/bin/run.sh"]
`

// TestBuildKitPipeline applies the issue's Dockerfile with one apply
// (build, run, push to the authenticated registry), finds nothing to do on
// the next plan, and finds the build secret in none of the files ansflow
// writes nor in its output.
func TestBuildKitPipeline(t *testing.T) {
	for _, s := range []service{docker, registry} {
		if err := available(s); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed: %v", s, err)
			}
			t.Skipf("%s is not available: %v", s, err)
		}
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("busybox-static is missing (%v): run hack/deps.sh", err)
		}
		t.Skipf("busybox-static is missing: %v", err)
	}
	var b [4]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	canary := "bk-canary-" + id
	dir := t.TempDir()
	writeIssuePipeline(t, dir, id, busybox)
	cli := ansflow(t, clitest.Keep("DOCKER_HOST"), clitest.With("ANSFLOW_VAR_token="+canary, "ANSFLOW_VAR_registry_password=ci-secret"))
	run := func(args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := cli.Command(ctx, dir, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Run()
		return out.String(), cmd.ProcessState.ExitCode()
	}
	t.Cleanup(func() {
		if out, code := run("destroy", "-auto-approve"); code != 0 {
			t.Errorf("destroy exited %d:\n%s", code, out)
		}
	})
	var output strings.Builder
	out, code := run("plan", "-out=plan.bin")
	output.WriteString(out)
	if code != 0 {
		t.Fatalf("plan exited %d:\n%s", code, out)
	}
	out, code = run("apply", "plan.bin")
	output.WriteString(out)
	if code != 0 {
		t.Fatalf("apply exited %d:\n%s", code, out)
	}
	out, code = run("logs", "docker_run.app")
	if code != 0 || !strings.Contains(out, "built-from-source") {
		t.Errorf("docker_run.app log (exit %d) lacks the built file:\n%s", code, out)
	}
	out, code = run("plan", "-detailed-exitcode")
	output.WriteString(out)
	if code != 0 {
		t.Errorf("second plan exited %d, want 0 (nothing to build):\n%s", code, out)
	}
	out, _ = run("output", "-json")
	output.WriteString(out)

	leaks := []string{}
	filepath.Walk(filepath.Join(dir), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.HasPrefix(p, filepath.Join(dir, "base")) {
			return nil
		}
		if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(canary)) {
			leaks = append(leaks, p)
		}
		return nil
	})
	if strings.Contains(output.String(), canary) {
		leaks = append(leaks, "ansflow's output")
	}
	if len(leaks) > 0 {
		t.Errorf("the build secret appears in %v", leaks)
	}
	if !strings.Contains(output.String(), "docker_build.app") {
		t.Errorf("output does not mention the build:\n%s", output.String())
	}
}

// writeIssuePipeline writes the pipeline of TestBuildKitPipeline into dir:
// a busybox base image, the issue's Dockerfile built FROM it with a secret,
// a run of the result and a push to the authenticated registry.
func writeIssuePipeline(t *testing.T, dir, id string, busybox []byte) {
	t.Helper()
	files := map[string]string{
		"base/busybox":    string(busybox),
		"base/Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
		"app/Dockerfile":  issueDockerfile,
		"app/run.sh":      "#!/bin/sh\ncat /built\n",
		"app/src/a.txt":   "built-from-source\n",
		"main.hcl": fmt.Sprintf(`
variable "token" {
  type      = string
  sensitive = true
}
variable "registry_password" {
  type      = string
  sensitive = true
}
registry "auth" {
  address  = "127.0.0.1:5001"
  username = "ci"
  password = var.registry_password
}
docker_build "base" {
  image   = "bk-issue-base-%[1]s"
  context = "base"
}
docker_build "app" {
  image      = "bk-issue-app-%[1]s"
  context    = "app"
  build_args = { BASE = docker_build.base.ref }
  target     = "build"
  secrets    = { token = var.token }
}
docker_run "app" {
  image = docker_build.app.ref
}
docker_push "app" {
  image      = docker_build.app.ref
  registry   = registry.auth
  repository = "bk-issue-%[1]s"
  depends_on = [docker_run.app]
}
output "ref" { value = docker_push.app.ref }
`, id),
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644)
		if name == "base/busybox" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}
