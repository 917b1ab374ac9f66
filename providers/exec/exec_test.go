package exec

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/providers"
	"github.com/zclconf/go-cty/cty"
)

// inputs builds an exec input object with the schema's defaults.
func inputs(t *testing.T, set map[string]cty.Value) cty.Value {
	t.Helper()
	schema := Schema()
	attrs := map[string]cty.Value{}
	for _, a := range schema.Inputs {
		switch {
		case set[a.Name] != cty.NilVal:
			attrs[a.Name] = set[a.Name]
		case a.Default != cty.NilVal:
			attrs[a.Name] = a.Default
		default:
			attrs[a.Name] = cty.NullVal(a.Type)
		}
	}
	return cty.ObjectVal(attrs)
}

func argv(args ...string) cty.Value {
	vals := make([]cty.Value, len(args))
	for i, a := range args {
		vals[i] = cty.StringVal(a)
	}
	return cty.ListVal(vals)
}

func TestApply(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "x.sh"), []byte("#!/bin/sh\necho x\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		set        map[string]cty.Value
		wantErr    string
		wantCode   int64
		wantStdout string
		wantStderr string
	}{
		{name: "stdout and stderr apart", set: map[string]cty.Value{"command": argv("sh", "-c", "echo out; echo err >&2")},
			wantStdout: "out\n", wantStderr: "err\n"},
		{name: "env is added", set: map[string]cty.Value{"command": argv("sh", "-c", "echo $GREETING"),
			"env": cty.MapVal(map[string]cty.Value{"GREETING": cty.StringVal("hi")})}, wantStdout: "hi\n"},
		{name: "workdir is relative to the pipeline", set: map[string]cty.Value{"command": argv("pwd"), "workdir": cty.StringVal("sub")},
			wantStdout: filepath.Join(dir, "sub") + "\n"},
		{name: "non-zero exit fails with the stderr tail", set: map[string]cty.Value{"command": argv("sh", "-c", "echo boom >&2; exit 4")},
			wantErr: "exited with code 4 (expected 0); last lines of stderr:\n  boom", wantCode: 4, wantStderr: "boom\n"},
		{name: "expected exit code", set: map[string]cty.Value{"command": argv("sh", "-c", "exit 3"), "expect_exit_code": cty.NumberIntVal(3)},
			wantCode: 3},
		{name: "the supervisor's mark is not passed on", set: map[string]cty.Value{"command": argv("sh", "-c", "echo ${ANSFLOW_STEP_SUPERVISOR:-unset}")},
			wantStdout: "unset\n"},
		{name: "relative program path", set: map[string]cty.Value{"command": argv("./sub/x.sh")},
			wantStdout: "x\n"},
		{name: "killed by a signal", set: map[string]cty.Value{"command": argv("sh", "-c", "kill -KILL $$")},
			wantErr: "exited with code -1", wantCode: -1},
		{name: "missing program", set: map[string]cty.Value{"command": argv("no-such-program-ansflow")},
			wantErr: `cannot run "no-such-program-ansflow": not found`, wantCode: -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			resp, err := New().Apply(context.Background(), providers.ApplyRequest{
				Env: providers.Env{Dir: dir}, Inputs: inputs(t, tc.set), Logs: providers.Logs{Stdout: &out, Stderr: &errb},
			})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			code, _ := resp.Outputs.GetAttr("exit_code").AsBigFloat().Int64()
			if code != tc.wantCode {
				t.Errorf("exit_code = %d, want %d", code, tc.wantCode)
			}
			if got := resp.Outputs.GetAttr("stdout").AsString(); got != tc.wantStdout || out.String() != tc.wantStdout {
				t.Errorf("stdout output %q, log %q, want %q", got, out.String(), tc.wantStdout)
			}
			if got := resp.Outputs.GetAttr("stderr").AsString(); got != tc.wantStderr {
				t.Errorf("stderr = %q, want %q", got, tc.wantStderr)
			}
		})
	}
}

func TestCancelKillsTheCommand(t *testing.T) {
	s := New()
	s.WaitDelay = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Apply(ctx, providers.ApplyRequest{Env: providers.Env{Dir: t.TempDir()},
		Inputs: inputs(t, map[string]cty.Value{"command": argv("sh", "-c", "sleep 30; echo never")}),
		Logs:   providers.Logs{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}})
	if err == nil {
		t.Fatal("a cancelled command reported success")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the command ran on for %s after its context ended", d)
	}
}

func TestSourcesFingerprint(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("src/a.go", "package a", 0o644)
	write("src/b.go", "package b", 0o644)
	write("src/.hidden/x", "ignored", 0o644)
	fp := func(patterns ...string) string {
		t.Helper()
		got, err := New().Fingerprint(context.Background(), providers.FingerprintRequest{Env: providers.Env{Dir: dir},
			Inputs: inputs(t, map[string]cty.Value{"command": argv("true"), "sources": argv(patterns...)})})
		if err != nil {
			t.Fatal(err)
		}
		return got["sources"]
	}
	base := fp("src/*.go")
	if base == "" || fp("src") != fp("src") {
		t.Fatal("no or unstable hash")
	}
	now := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "src/a.go"), now, now)
	if fp("src/*.go") != base {
		t.Error("touch changed the hash")
	}
	write("src/.hidden/x", "changed", 0o644)
	if fp("src") != fp("src") {
		t.Error("hidden directories should not count")
	}
	write("src/a.go", "package a // edited", 0o644)
	if fp("src/*.go") == base {
		t.Error("an edit did not change the hash")
	}
	edited := fp("src/*.go")
	write("src/a.go", "package a // edited", 0o755)
	if fp("src/*.go") == edited {
		t.Error("chmod +x did not change the hash")
	}
	if _, err := New().Fingerprint(context.Background(), providers.FingerprintRequest{Env: providers.Env{Dir: dir},
		Inputs: inputs(t, map[string]cty.Value{"command": argv("true"), "sources": argv("nope/*.c")})}); err == nil || !strings.Contains(err.Error(), "matches no file") {
		t.Errorf("a pattern matching nothing: err = %v", err)
	}
}

// A program that cannot start is explained without Go's fork/exec wording.
func TestStartFailuresAreExplained(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "script.sh"), []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "tools"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		set  map[string]cty.Value
		want string
	}{
		{"missing workdir", map[string]cty.Value{"command": argv("/bin/echo", "hi"), "workdir": cty.StringVal("nosuchdir")},
			`workdir "nosuchdir" does not exist (` + filepath.Join(dir, "nosuchdir") + `); create it in an earlier step or fix workdir`},
		{"workdir is a file", map[string]cty.Value{"command": argv("/bin/echo", "hi"), "workdir": cty.StringVal("file")},
			`workdir "file" is not a directory (` + filepath.Join(dir, "file") + `)`},
		{"not executable", map[string]cty.Value{"command": argv("./script.sh")},
			`cannot run "./script.sh": it is not executable (permission denied); make it executable (chmod +x) or run it through its interpreter, e.g. ["sh", "./script.sh"]`},
		{"a directory", map[string]cty.Value{"command": argv("./tools")},
			`cannot run "./tools": it is a directory, not a program`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New().Apply(context.Background(), providers.ApplyRequest{
				Env: providers.Env{Dir: dir}, Inputs: inputs(t, tc.set), Logs: providers.Logs{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}},
			})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant  %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "fork/exec") {
				t.Errorf("Go's wording reaches the user: %v", err)
			}
		})
	}
}
