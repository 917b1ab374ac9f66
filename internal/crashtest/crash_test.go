// Package crashtest proves that kill -9 at any moment of an apply leaves a
// state that parses, never goes back, never claims a step that did not run,
// and lets the next apply finish the rest without rerunning what finished.
package crashtest

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
	"github.com/ansflow/ansflow/state"
)

const steps = 200

// pipeline writes 200 exec steps in 10 layers of 20; each step depends on
// two steps of the layer before and appends its name to runs.log.
func pipeline(t *testing.T, dir string) {
	var b strings.Builder
	for i := 0; i < steps; i++ {
		fmt.Fprintf(&b, "exec \"s%03d\" {\n  command = [\"sh\", \"-c\", \"sleep 0.01; echo s%03d >> runs.log\"]\n", i, i)
		if layer := i / 20; layer > 0 {
			a, c := (layer-1)*20+i%20, (layer-1)*20+(i*7)%20
			fmt.Fprintf(&b, "  depends_on = [exec.s%03d, exec.s%03d]\n", a, c)
		}
		b.WriteString("}\n\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// applyArgs is the apply every test runs.
var applyArgs = []string{"apply", "-auto-approve", "-parallelism=10"}

// ansflow is the harness: the binary clitest builds once, with a clean
// environment; an apply of 200 steps may take a while on a busy machine.
func ansflow(t *testing.T) *clitest.CLI {
	t.Helper()
	return clitest.New(t, clitest.Timeout(10*time.Minute))
}

// ranCounts counts how often each step appended to runs.log.
func ranCounts(t *testing.T, dir string) map[string]int {
	f, err := os.Open(filepath.Join(dir, "runs.log"))
	if os.IsNotExist(err) {
		return map[string]int{}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		counts["exec."+strings.TrimSpace(sc.Text())]++
	}
	return counts
}

func kills() int {
	if n, err := strconv.Atoi(os.Getenv("ANSFLOW_CRASH_KILLS")); err == nil {
		return n
	}
	if os.Getenv("CI") == "true" {
		return 50
	}
	if testing.Short() {
		return 3
	}
	return 10
}

// TestKill9 kills `ansflow apply` of a 200-step pipeline at random moments
// (seeded: ANSFLOW_CRASH_SEED, default 1) and checks the state after each.
func TestKill9(t *testing.T) {
	c := ansflow(t)
	seed := int64(1)
	if s, err := strconv.ParseInt(os.Getenv("ANSFLOW_CRASH_SEED"), 10, 64); err == nil {
		seed = s
	}
	rng := rand.New(rand.NewSource(seed))

	// One uninterrupted apply to learn how long an apply takes here.
	probe := t.TempDir()
	pipeline(t, probe)
	start := time.Now()
	if r := c.Run(probe, applyArgs...); r.Code != 0 {
		t.Fatalf("uninterrupted apply\n%s", r)
	}
	full := time.Since(start)

	n := kills()
	var survived, rerunInFlight, midRun int
	for i := 0; i < n; i++ {
		dir := t.TempDir()
		pipeline(t, dir)
		at := time.Duration(rng.Int63n(int64(full)))
		p := c.Start(dir, applyArgs...)
		time.Sleep(at)
		_ = p.Kill()
		p.Wait(time.Minute)

		st, err := clitest.ReadState(dir, "")
		if err != nil {
			t.Errorf("kill %d at %s: the state does not parse: %v", i, at, err)
			continue
		}
		ran := ranCounts(t, dir)
		done := map[string]bool{}
		bad := false
		for addr, in := range st.Instances {
			if in.Status != state.StatusOK {
				continue
			}
			done[addr] = true
			if ran[addr] == 0 {
				t.Errorf("kill %d at %s: %s is recorded as done but never ran", i, at, addr)
				bad = true
			}
		}
		if len(done) > 0 && len(done) < steps {
			midRun++
		}
		serialAtKill := st.Serial

		// The next apply finishes the rest.
		if r := c.Run(dir, applyArgs...); r.Code != 0 {
			t.Errorf("kill %d at %s: the apply after the kill failed\n%s", i, at, r)
			continue
		}
		after := ranCounts(t, dir)
		st2, err := clitest.ReadState(dir, "")
		if err != nil {
			t.Errorf("kill %d: state after the finishing apply: %v", i, err)
			continue
		}
		if st2.Serial < serialAtKill {
			t.Errorf("kill %d: serial went back from %d to %d", i, serialAtKill, st2.Serial)
			bad = true
		}
		for j := 0; j < steps; j++ {
			addr := fmt.Sprintf("exec.s%03d", j)
			in := st2.Instances[addr]
			if in == nil || in.Status != state.StatusOK {
				t.Errorf("kill %d: %s is not done after the finishing apply", i, addr)
				bad = true
			}
			switch {
			case done[addr] && after[addr] != ran[addr]:
				t.Errorf("kill %d at %s: %s had finished before the kill but ran again", i, at, addr)
				bad = true
			case !done[addr] && ran[addr] > 0 && after[addr] > ran[addr]:
				rerunInFlight++ // in flight at the kill: allowed to run again
			}
		}
		if !bad {
			survived++
		}
	}
	t.Logf("kill -9 harness (seed %d): %d of %d kills survived; %d kills landed mid-apply; %d steps in flight at a kill ran again; uninterrupted apply of %d steps took %s",
		seed, survived, n, midRun, rerunInFlight, steps, full.Round(time.Millisecond))
	report(promiseState, n, n-survived)
	if survived != n {
		t.Fatalf("%d of %d kills broke an invariant", n-survived, n)
	}
}
