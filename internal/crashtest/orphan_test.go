package crashtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
)

// TestKill9StopsTheRunningStep kills `ansflow apply` with SIGKILL while an
// exec step runs and checks that nothing of the step stays alive: not the
// command, not what it started in the background, not a command that
// ignores SIGTERM. ansflow cannot clean up after SIGKILL; the step's
// supervisor sees its lifeline close and kills the step's process group.
func TestKill9StopsTheRunningStep(t *testing.T) {
	c := ansflow(t)
	cases, breaks := 0, 0
	defer func() { report(promiseSteps, cases, breaks) }()
	for _, tc := range []struct {
		name   string
		script string
		pids   int // lines the script writes to pids
	}{
		{"command itself", `echo $$ >> pids; exec sleep 300`, 1},
		{"background children", `sleep 300 & echo $! >> pids; echo $$ >> pids; wait`, 2},
		{"grandchildren", `sh -c 'sleep 300 & echo $! >> pids; echo $$ >> pids; wait' & echo $$ >> pids; wait`, 3},
		{"ignores SIGTERM", `trap "" TERM HUP INT; sleep 300 & echo $! >> pids; echo $$ >> pids; wait`, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cases++
			defer func() {
				if t.Failed() {
					breaks++
				}
			}()
			dir := t.TempDir()
			src := fmt.Sprintf("exec \"long\" {\n  command = [\"sh\", \"-c\", %q]\n}\n", tc.script)
			if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			p := c.Start(dir, applyArgs...)
			pids := waitForPids(t, filepath.Join(dir, "pids"), tc.pids)
			_ = p.Kill()
			p.Wait(time.Minute)
			for _, pid := range pids {
				if !clitest.WaitGone(pid, 20*time.Second) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					t.Errorf("process %d of the step outlived the killed apply", pid)
				}
			}
		})
	}
}

// waitForPids waits until path holds n pids, one a line.
func waitForPids(t *testing.T, path string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(path)
		var pids []int
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		if len(pids) >= n {
			return pids
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the step did not start within a minute (%s)", path)
	return nil
}
