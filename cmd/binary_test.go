package cmd_test

import (
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
)

// ansflow is the harness for the ansflow command testscript.Main put on
// PATH (the same main as cmd/ansflow, in this test binary): a clean
// environment with a HOME of the test's own, plus opts.
func ansflow(t testing.TB, opts ...clitest.Option) *clitest.CLI {
	t.Helper()
	return clitest.New(t, append([]clitest.Option{clitest.OnPath()}, opts...)...)
}

// ansflowRun runs the ansflow binary in dir with env added and returns its
// output and exit code.
func ansflowRun(t testing.TB, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	r := ansflow(t, clitest.With(env...), clitest.Timeout(time.Minute)).Run(dir, args...)
	return r.Output(), r.Code
}
