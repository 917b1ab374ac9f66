package safetytest

import (
	"os"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/internal/clitest"
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// runMain runs the tests with the binary clitest builds once, then writes
// the reliability report.
func runMain(m *testing.M) int {
	code := clitest.Main(m).Run()
	writeReport()
	return code
}

// longRun reports whether the long variants are asked for.
func longRun() bool { return os.Getenv("ANSFLOW_LONG") == "1" }

// ansflow is the harness for t with env added: the binary in a clean,
// colourless environment, started in the pipeline directory (relative
// -var-file paths resolve from there too). DOCKER_HOST stays: requireDocker
// takes it as the engine the Docker tests use.
func ansflow(t *testing.T, env []string) *clitest.CLI {
	t.Helper()
	return clitest.New(t, clitest.Keep("DOCKER_HOST"), clitest.InDir(), clitest.With(env...))
}

// run runs ansflow to completion (at most two minutes).
func run(t *testing.T, dir string, env []string, args ...string) clitest.Result {
	t.Helper()
	return ansflow(t, env).Run(dir, args...)
}

// mustRun runs ansflow and fails the test unless it exits 0.
func mustRun(t *testing.T, dir string, env []string, args ...string) clitest.Result {
	t.Helper()
	return ansflow(t, env).MustRun(dir, args...)
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
