package cmd_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestApprovalOnTerminal runs apply on a pseudo-terminal: it asks, and only
// "yes" goes ahead.
func TestApprovalOnTerminal(t *testing.T) {
	cli := ansflow(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(`exec "a" {
  command = ["sh", "-c", "echo ran >> runs.log"]
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		answer string
		ran    bool
		want   string
	}{
		{"no", false, "Apply cancelled; nothing was changed."},
		{"yes", true, "Apply complete"},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			cmd := cli.Command(context.Background(), dir, "apply")
			f, err := pty.Start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			out := make(chan string, 1)
			prompted := make(chan struct{})
			go func() {
				var all strings.Builder
				r := bufio.NewReader(f)
				buf := make([]byte, 4096)
				signalled := false
				for {
					n, err := r.Read(buf)
					all.Write(buf[:n])
					if !signalled && strings.Contains(all.String(), "Enter a value:") {
						close(prompted)
						signalled = true
					}
					if err != nil {
						out <- all.String()
						return
					}
				}
			}()
			select {
			case <-prompted:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("no approval prompt; output:\n%s", <-out)
			}
			io.WriteString(f, tc.answer+"\r")
			cmd.Wait()
			text := <-out
			if !strings.Contains(text, "Do you want to perform these actions?") || !strings.Contains(text, tc.want) {
				t.Errorf("output does not have the prompt and %q:\n%s", tc.want, text)
			}
			_, err = os.Stat(filepath.Join(dir, "runs.log"))
			if ran := err == nil; ran != tc.ran {
				t.Errorf("step ran = %v, want %v", ran, tc.ran)
			}
		})
	}
}
