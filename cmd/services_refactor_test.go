package cmd_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
)

// TestServicesRefactor is issue #19's acceptance: examples/services applied
// in its copy-paste form (before/main.hcl, 16 steps), then refactored into
// the module form with moved.hcl, plans "has moved" for each of the 15
// service steps and runs none of them; the state has the module addresses
// and the next plan has nothing to do.
func TestServicesRefactor(t *testing.T) {
	for _, s := range exampleSpecs["services"].needs {
		if err := available(s); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed and is not available on CI: %v", s, err)
			}
			t.Skipf("%s is not available: %v", s, err)
		}
	}
	dir := filepath.Join(t.TempDir(), "services")
	copyTree(t, filepath.Join("..", "examples", "services"), dir)
	moduleForm, err := os.ReadFile(filepath.Join(dir, "main.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	moved, err := os.ReadFile(filepath.Join(dir, "moved.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "main.hcl"), mustRead(t, filepath.Join(dir, "before", "main.hcl")))
	if err := os.Remove(filepath.Join(dir, "moved.hcl")); err != nil {
		t.Fatal(err)
	}

	cli := ansflow(t, clitest.Keep("KUBECONFIG", "DOCKER_HOST"), clitest.With("ANSFLOW_WORKSPACE=refactor"))
	run := func(args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := cli.Command(ctx, dir, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		_ = cmd.Run()
		return out.String(), cmd.ProcessState.ExitCode()
	}
	t.Cleanup(func() {
		if out, code := run("destroy", "-auto-approve"); code != 0 {
			t.Errorf("destroy exited %d:\n%s", code, out)
		}
	})
	if out, code := run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply of the copy-paste form exited %d:\n%s", code, out)
	}

	writeFile(t, filepath.Join(dir, "main.hcl"), moduleForm)
	writeFile(t, filepath.Join(dir, "moved.hcl"), moved)
	out, code := run("plan", "-detailed-exitcode")
	if code != 0 && code != 2 {
		t.Errorf("plan after the refactor exited %d, want 0 or 2:\n%s", code, out)
	}
	movedLine := regexp.MustCompile(`# \S+ has moved to module\.svc\["(api|web|worker)"\]\.\S+`)
	if n := len(movedLine.FindAllString(out, -1)); n != 15 {
		t.Errorf("plan shows %d moves, want 15:\n%s", n, out)
	}
	for _, bad := range []string{"will be created", "will run", "will be replaced", "will be updated", "will be destroyed"} {
		if strings.Contains(out, bad) {
			t.Errorf("plan after the refactor says %q; the refactor must not rerun anything:\n%s", bad, out)
		}
	}
	if out, code := run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply of the moves exited %d:\n%s", code, out)
	} else if strings.Contains(out, "Running") || strings.Contains(out, "Building") || strings.Contains(out, "Pushing") {
		t.Errorf("apply of the moves ran steps:\n%s", out)
	}
	out, _ = run("state", "list")
	for _, want := range []string{`module.svc["api"].docker_build.image`, `module.svc["worker"].k8s_wait.app`, "exec.compile"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("state list lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "docker_build.api\n") {
		t.Errorf("state list still has the old address docker_build.api:\n%s", out)
	}
	if out, code := run("plan", "-detailed-exitcode"); code != 0 {
		t.Errorf("plan after the moves were applied exited %d, want 0:\n%s", code, out)
	}
}

// copyTree copies the files of src into dst, leaving out what a run made
// (.ansflow, built binaries).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() && (d.Name() == ".ansflow" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
