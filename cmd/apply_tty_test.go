package cmd_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestInteractiveApplyAppliesThePlanShown answers the approval prompt of
// apply on a pseudo-terminal after a file the plan read changed: apply
// refuses the plan it showed instead of applying something else.
func TestInteractiveApplyAppliesThePlanShown(t *testing.T) {
	dir := t.TempDir()
	pipeline := `
exec "deploy" {
  command = ["sh", "-c", "echo ${file("notes.txt")} > out.txt"]
}
`
	for name, content := range map[string]string{"main.hcl": pipeline, "notes.txt": "reviewed"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, tty := startOnTerminal(ctx, t, "-chdir="+dir, "apply")
	defer tty.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	for !strings.Contains(func() string { mu.Lock(); defer mu.Unlock(); return out.String() }(), "Enter a value:") {
		select {
		case <-ctx.Done():
			t.Fatalf("no approval prompt:\n%s", out.String())
		case <-done:
			t.Fatalf("apply ended before asking:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("changed at the prompt"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tty, "yes\n"); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := cmd.Wait(); err == nil {
		t.Fatalf("apply succeeded; want the plan shown refused:\n%s", out.String())
	}
	got := out.String()
	for _, want := range []string{"The plan shown is stale", `exec.deploy: command changed since the plan was made (file("notes.txt"))`} {
		if !strings.Contains(got, want) {
			t.Errorf("the terminal does not show %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.txt")); err == nil {
		t.Error("the step ran although the plan shown was refused")
	}
}
