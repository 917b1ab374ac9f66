package clitest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ansflow/ansflow/state"
)

func TestMain(m *testing.M) { os.Exit(Main(m).Run()) }

// TestBinaryBuildsOnce asks for the binary from many goroutines: one path,
// go build at most once (not at all when the cache has this source's), and
// it is the real ansflow.
func TestBinaryBuildsOnce(t *testing.T) {
	paths := make([]string, 8)
	var wg sync.WaitGroup
	for i := range paths {
		wg.Go(func() { paths[i] = Binary(t) })
	}
	wg.Wait()
	for _, p := range paths[1:] {
		if p != paths[0] {
			t.Fatalf("Binary returned %q and %q", paths[0], p)
		}
	}
	New(t) // and New asks again
	if process.builds > 1 {
		t.Errorf("go build ran %d times, want at most 1", process.builds)
	}
	if r := New(t).Run("", "version"); r.Code != 0 || !strings.Contains(r.Stdout, "ansflow") {
		t.Errorf("ansflow version:\n%s", r)
	}
}

// TestBinaryFromCache: another test process of the same source finds the
// binary in the cache and builds nothing.
func TestBinaryFromCache(t *testing.T) {
	if process.root == "" {
		t.Skip("no user cache directory")
	}
	want := Binary(t)
	other := builder{root: process.root}
	got, err := other.binary()
	if err != nil {
		t.Fatal(err)
	}
	if got != want || other.builds != 0 {
		t.Errorf("another process got %q after %d builds, want %q after none", got, other.builds, want)
	}
}

// TestBinaryWithoutCacheOrMain: with nowhere to build, the message says
// what to do.
func TestBinaryWithoutCacheOrMain(t *testing.T) {
	var b builder
	if _, err := b.binary(); err == nil || !strings.Contains(err.Error(), "clitest.Main") {
		t.Errorf("binary() without a cache or Main: err = %v, want one naming clitest.Main", err)
	}
}

// TestPrune keeps the binary in use, the ones used recently and one being
// built, and removes the rest.
func TestPrune(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	old := now.Add(-2 * unusedFor)
	for name, mtime := range map[string]time.Time{"current": old, "recent": now, "stale": old} {
		bin := filepath.Join(root, name, "ansflow")
		writeFile(t, bin, []byte("binary"))
		if err := os.Chtimes(bin, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	for name, mtime := range map[string]time.Time{"building": now, "abandoned": old} {
		writeFile(t, filepath.Join(root, name, "ansflow.1.tmp"), nil)
		if err := os.Chtimes(filepath.Join(root, name), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "README"), nil)
	prune(root, "current", now.Add(-unusedFor))
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := []string{"README", "building", "current", "recent"}; !slices.Equal(got, want) {
		t.Errorf("after prune: %q, want %q", got, want)
	}
}

// stepEnvPipeline's step writes its environment to env.txt.
const stepEnvPipeline = `-- main.hcl --
exec "env" {
  command = ["sh", "-c", "env > env.txt"]
}
-- notes/readme.txt --
not a pipeline file
`

// TestChildEnvironment: what the test's environment holds for ansflow does
// not reach it nor its steps; HOME is the harness's own.
func TestChildEnvironment(t *testing.T) {
	t.Setenv("ANSFLOW_WORKSPACE", "leaked")
	t.Setenv("ANSFLOW_VAR_token", "leaked")
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	dir := t.TempDir()
	WriteTxtar(t, dir, stepEnvPipeline)
	c := New(t, With("ANSFLOW_VAR_extra=given"))
	c.MustRun(dir, "apply", "-auto-approve")
	data, err := os.ReadFile(filepath.Join(dir, "env.txt"))
	if err != nil {
		t.Fatal(err)
	}
	env := "\n" + string(data)
	for _, bad := range []string{"leaked", "KUBECONFIG=", "ANSFLOW_STEP_SUPERVISOR="} {
		if strings.Contains(env, bad) {
			t.Errorf("the step's environment has %q:\n%s", bad, data)
		}
	}
	for _, want := range []string{"\nHOME=" + c.Home() + "\n", "\nNO_COLOR=1\n", "\nANSFLOW_VAR_extra=given\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("the step's environment lacks %q:\n%s", strings.TrimSpace(want), data)
		}
	}
	st, err := ReadState(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := Status(st, "exec.env"); got != state.StatusOK {
		t.Errorf("exec.env is recorded as %q in the default workspace, want ok", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes", "readme.txt")); err != nil {
		t.Errorf("WriteTxtar did not write the nested file: %v", err)
	}
}

// slowPipeline's first step takes a while; the second comes after it.
var slowPipeline = map[string]string{"main.hcl": `exec "slow" {
  command = ["sh", "-c", "touch started; sleep 2"]
}

exec "after" {
  command    = ["true"]
  depends_on = [exec.slow]
}
`}

// TestStartAndSignal interrupts a background apply once (the running step
// finishes and is recorded, nothing new starts), twice (it is cancelled),
// and kills it.
func TestStartAndSignal(t *testing.T) {
	c := New(t)
	for _, tc := range []struct {
		name    string
		signal  func(*Process) error
		times   int
		marker  string
		slow    state.Status
		exitled bool // a signal, not ansflow, ended the process
	}{
		{"interrupt once", (*Process).Interrupt, 1, "Interrupt received", state.StatusOK, false},
		{"interrupt twice", (*Process).Interrupt, 2, "Second interrupt", state.StatusFailed, false},
		{"kill", (*Process).Kill, 1, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := Dir(t, slowPipeline)
			p := c.Start(dir, "apply", "-auto-approve")
			if !p.WaitFor("exec.slow: Running...", time.Minute) {
				t.Fatalf("the step did not start:\n%s", p.Output())
			}
			for !fileExists(filepath.Join(dir, "started")) {
				time.Sleep(10 * time.Millisecond)
			}
			for i := 0; i < tc.times; i++ {
				if i > 0 && !p.WaitFor("Interrupt received", 10*time.Second) {
					t.Fatalf("no word of the first interrupt:\n%s", p.Output())
				}
				if err := tc.signal(p); err != nil {
					t.Fatal(err)
				}
			}
			code := p.Wait(time.Minute)
			if got := code == -1; got != tc.exitled {
				t.Errorf("exit code %d; ended by the signal = %v, want %v", code, got, tc.exitled)
			}
			if tc.marker != "" && !strings.Contains(p.Output(), tc.marker) {
				t.Errorf("output lacks %q:\n%s", tc.marker, p.Output())
			}
			st, err := ReadState(dir, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := Status(st, "exec.slow"); got != tc.slow {
				t.Errorf("exec.slow recorded as %q, want %q\n%s", got, tc.slow, p.Output())
			}
			if got := Status(st, "exec.after"); got != "" {
				t.Errorf("exec.after recorded as %q: it should not have started", got)
			}
		})
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
