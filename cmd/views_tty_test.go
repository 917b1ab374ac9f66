package cmd_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
	"github.com/creack/pty"
)

// TestLiveViewOnTerminal runs apply under a pseudo-terminal and checks the
// live region: it shows the running step with its elapsed time and last
// output line, redraws in place, and ends with the plain summary.
func TestLiveViewOnTerminal(t *testing.T) {
	dir := t.TempDir()
	pipeline := `
exec "slow" {
  command = ["sh", "-c", "for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.25; done"]
}
exec "after" {
  command    = ["sh", "-c", "echo finished"]
  depends_on = [exec.slow]
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, tty := startOnTerminal(ctx, t, "-chdir="+dir, "apply", "-auto-approve")
	defer tty.Close()
	var out bytes.Buffer
	_, err := io.Copy(&out, tty)
	if err != nil && !errors.Is(err, syscall.EIO) { // EIO: the child closed the terminal
		t.Fatalf("reading the terminal: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("apply failed: %v\n%s", err, out.String())
	}
	got := out.String()

	checks := []struct {
		what string
		re   string
	}{
		{"the running step with its elapsed time and last output line", `exec\.slow\s+Running\.\.\. 1\.\ds\s+tick [3-6]`},
		{"the region redrawn in place", `\x1b\[1A\r\x1b\[J`},
		{"the finished step as a plain line", `exec\.slow: Ran after 1\.\ds \[exit=0\]`},
		{"per-step durations", `Step durations:\r?\n\s+exec\.slow\s+1\.\ds`},
		{"the summary", `Apply complete after [\d.]+m?s \(run 1\): 0 created, 0 updated, 2 ran, 0 destroyed, 0 failed\.\r?\n$`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.re).MatchString(got) {
			t.Errorf("the terminal output does not show %s (/%s/):\n%q", c.what, c.re, got)
		}
	}
	if strings.Contains(got, "Still running") {
		t.Errorf("the terminal got the plain view's lines:\n%q", got)
	}
}

// startOnTerminal starts ansflow with args on a pseudo-terminal.
func startOnTerminal(ctx context.Context, t *testing.T, args ...string) (*exec.Cmd, *os.File) {
	t.Helper()
	cmd := ansflow(t, clitest.With("TERM=xterm")).Command(ctx, "", args...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 100})
	if err != nil {
		t.Fatalf("starting ansflow on a pseudo-terminal: %v", err)
	}
	return cmd, tty
}
