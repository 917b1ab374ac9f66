package crashtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKill9StopsTheRunningStep kills `ansflow apply` with SIGKILL while an
// exec step runs and checks that nothing of the step stays alive: not the
// command, not what it started in the background, not a command that
// ignores SIGTERM. ansflow cannot clean up after SIGKILL; the step's
// supervisor sees its lifeline close and kills the step's process group.
func TestKill9StopsTheRunningStep(t *testing.T) {
	bin := buildBinary(t)
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
			cmd := apply(context.Background(), bin, dir)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pids := waitForPids(t, filepath.Join(dir, "pids"), tc.pids)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			for _, pid := range pids {
				if !waitGone(pid, 20*time.Second) {
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

// waitGone waits for pid to end (a zombie counts as ended) for at most d.
func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: trust kill(2)
	}
	// pid (comm) S ...: the state follows the last parenthesis.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}
