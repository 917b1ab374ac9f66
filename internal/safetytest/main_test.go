package safetytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ansflowBin is the binary built once by TestMain for every test.
var ansflowBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ansflow-safetytest-")
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
	code := m.Run()
	writeReport()
	return code
}

// longRun reports whether the long variants are asked for.
func longRun() bool { return os.Getenv("ANSFLOW_LONG") == "1" }

// result is what one run of the binary did.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

// output is stdout and stderr together, for searching.
func (r result) output() string { return r.stdout + r.stderr }

func (r result) String() string {
	return fmt.Sprintf("ansflow %s: exit %d\n--- stdout\n%s--- stderr\n%s",
		strings.Join(r.args, " "), r.code, clip(r.stdout), clip(r.stderr))
}

// clip shortens s for failure messages.
func clip(s string) string {
	const max = 4000
	if len(s) > max {
		return s[:max] + fmt.Sprintf("\n... (%d more bytes)\n", len(s)-max)
	}
	return s
}

// command prepares `ansflow -chdir=dir args...` with a clean, colourless
// environment plus env.
func command(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, ansflowBin, append([]string{"-chdir=" + dir}, args...)...)
	cmd.Dir = dir // relative -var-file paths resolve from here too
	cmd.Env = append(baseEnv(), env...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// baseEnv is the environment without ANSFLOW_* and CI settings that would
// change what a test sees.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ANSFLOW_") || strings.HasPrefix(kv, "TF_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "NO_COLOR=1")
}

// run runs ansflow to completion (at most two minutes).
func run(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := command(ctx, dir, env, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("running ansflow %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("ansflow %v did not finish within two minutes\n%s", args, r)
	}
	return r
}

// mustRun runs ansflow and fails the test unless it exits 0.
func mustRun(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	r := run(t, dir, env, args...)
	if r.code != 0 {
		t.Fatalf("want exit 0\n%s", r)
	}
	return r
}

// crashed reports whether output shows a Go panic or runtime crash.
func crashed(out string) bool {
	for _, s := range []string{"panic:", "goroutine ", "fatal error:", "runtime error:"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// writeFiles writes name → content files into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// pipelineDir makes a temporary pipeline directory holding files.
func pipelineDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return dir
}
