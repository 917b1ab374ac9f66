package cmd_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/jsonschema"
)

// TestJSONStreamMatchesSchema runs validate, plan, apply and destroy with
// -json on a pipeline with a step that succeeds with output, one that fails
// once and is retried, one that fails and one skipped after it, and checks
// every line of standard output against docs/json-events.schema.json.
func TestJSONStreamMatchesSchema(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "json-events.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := jsonschema.Parse(data)
	if err != nil {
		t.Fatalf("docs/json-events.schema.json: %v", err)
	}
	dir := t.TempDir()
	pipeline := `
exec "ok" {
  command = ["sh", "-c", "echo hello; echo; echo warning >&2"]
}
exec "flaky" {
  command = ["sh", "-c", "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 2 ]"]
  retry {
    attempts = 2
    delay    = "10ms"
  }
}
exec "bad" {
  command = ["sh", "-c", "echo failing; exit 3"]
}
exec "after_bad" {
  command    = ["true"]
  depends_on = [exec.bad]
}
output "greeting" {
  value = exec.ok.stdout
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}

	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "main.hcl"), []byte("exec \"x\" {\n  commnd = [\"true\"]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	runs := []struct {
		dir      string
		args     []string
		wantExit int
		want     []string // event types that must appear
	}{
		{broken, []string{"validate", "-json"}, 1, []string{"validate"}},
		{dir, []string{"validate", "-json"}, 0, []string{"validate"}},
		// Every error is a diagnostic event: config errors, bad flags and
		// arguments, missing or stale plan files.
		{broken, []string{"plan", "-json"}, 1, []string{"diagnostic"}},
		{dir, []string{"plan", "-json", "-parallelism=abc"}, 1, []string{"diagnostic"}},
		{dir, []string{"apply", "-json", "-nosuch"}, 1, []string{"diagnostic"}},
		{dir, []string{"apply", "-json", "no-such.plan"}, 1, []string{"diagnostic"}},
		{dir, []string{"plan", "-json", "-var", "nosuch=1"}, 1, []string{"diagnostic"}},
		{dir, []string{"plan", "-json", "-out=stale.plan"}, 0, []string{"planned_change", "plan_summary"}},
		{dir, []string{"apply", "-json", "-auto-approve"}, 1, []string{"planned_change", "plan_summary", "step_start", "log", "step_retry", "step_end", "apply_summary", "outputs"}},
		{dir, []string{"apply", "-json", "stale.plan"}, 1, []string{"diagnostic"}},
		{dir, []string{"destroy", "-json", "-auto-approve"}, 0, []string{"planned_change", "step_start", "step_end", "apply_summary", "outputs"}},
	}
	for _, r := range runs {
		t.Run(filepath.Base(r.dir)+"/"+r.args[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := ansflow(t).Command(ctx, r.dir, r.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if got := cmd.ProcessState.ExitCode(); got != r.wantExit {
				t.Fatalf("exit code %d, want %d (%v)\nstdout:\n%s\nstderr:\n%s", got, r.wantExit, err, stdout.String(), stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("-json wrote to stderr; everything must be an event on stdout:\n%s", stderr.String())
			}
			seen := map[string]int{}
			last := ""
			sc := bufio.NewScanner(&stdout)
			sc.Buffer(nil, 1<<20)
			for n := 1; sc.Scan(); n++ {
				if err := schema.ValidateJSON(sc.Bytes()); err != nil {
					t.Errorf("line %d does not match docs/json-events.schema.json: %v\n%s", n, err, sc.Text())
				}
				var ev struct{ Type string }
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					t.Errorf("line %d is not JSON: %v\n%s", n, err, sc.Text())
				}
				seen[ev.Type]++
				last = ev.Type
			}
			if r.args[0] != "validate" && r.args[0] != "plan" && r.wantExit == 0 || seen["apply_summary"] > 0 {
				if last != "outputs" {
					t.Errorf("the last event is %q; apply -json ends with an outputs event", last)
				}
			}
			for _, typ := range r.want {
				if seen[typ] == 0 {
					t.Errorf("no %s event; got %v", typ, seen)
				}
			}
		})
	}
}
