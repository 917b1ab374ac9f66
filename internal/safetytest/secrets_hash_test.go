package safetytest

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/internal/clitest"
)

// legacyHash is how ansflow used to record a sensitive string: unkeyed,
// so that anyone with the state could test guesses.
func legacyHash(s string) string {
	sum := sha256.Sum256([]byte(`ansflow-sensitive:"` + s + `"`))
	return hex.EncodeToString(sum[:8])
}

// TestSensitiveHashesAreKeyed: a 6-digit PIN given as a sensitive variable
// (into a step input, a sensitive output and a saved plan) is recorded only
// as a keyed hash; the key is in .ansflow/keys (0600), not in the state or
// plan file; a copy of the pipeline with another key hashes the same PIN
// differently, so a copied state or plan file does not let anyone test
// guesses.
func TestSensitiveHashesAreKeyed(t *testing.T) {
	defer tally(t, promiseSecrets)
	const pin = "493817"
	src := sidePW + "exec \"a\" {\n  command = [\"true\"]\n  env = { PIN = var.pw }\n}\n\noutput \"pin\" {\n  value     = var.pw\n  sensitive = true\n}\n"
	env := []string{"ANSFLOW_VAR_pw=" + pin}
	hashesIn := func(dir string) map[string]bool {
		found := map[string]bool{}
		_ = filepath.WalkDir(filepath.Join(dir, ".ansflow", "state"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				data, _ := os.ReadFile(p)
				for _, part := range strings.Split(string(data), "(sensitive:")[1:] {
					found["(sensitive:"+part[:strings.IndexByte(part, ')')+1]] = true
				}
			}
			return nil
		})
		return found
	}
	var dirs []string
	for range 2 {
		dir := clitest.Dir(t, map[string]string{"main.hcl": src})
		mustRun(t, dir, env, "plan", "-out=pin.plan")
		mustRun(t, dir, env, "apply", "pin.plan")
		dirs = append(dirs, dir)
	}
	for _, dir := range dirs {
		for _, f := range []string{".ansflow/state/default.json", "pin.plan"} {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), legacyHash(pin)) || strings.Contains(string(data), "sensitive:sha256:") {
				t.Errorf("%s holds the unkeyed hash of the PIN", f)
			}
			if !strings.Contains(string(data), "(sensitive:hmac-sha256:") {
				t.Errorf("%s holds no keyed hash", f)
			}
		}
		key := filepath.Join(dir, ".ansflow", "keys", "default.key")
		if info, err := os.Stat(key); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("key file %s: %v; want mode 0600", key, err)
		}
	}
	a, b := hashesIn(dirs[0]), hashesIn(dirs[1])
	if len(a) == 0 {
		t.Fatalf("no hashes of sensitive values in the state")
	}
	for h := range a {
		if b[h] {
			t.Errorf("two workspaces with their own keys record the same hash %s of the PIN", h)
		}
	}
	// The keyed hash is stable: nothing to do on the next plan.
	if r := mustRun(t, dirs[0], env, "plan", "-detailed-exitcode"); !strings.Contains(r.Stdout, "No changes") {
		t.Errorf("the plan after apply has changes\n%s", r)
	}
	// A saved plan is still bound to the value: another PIN is refused.
	mustRun(t, dirs[0], env, "plan", "-out=again.plan", "-replace=exec.a")
	if r := run(t, dirs[0], []string{"ANSFLOW_VAR_pw=000000"}, "apply", "again.plan"); r.Code == 0 || !strings.Contains(r.Output(), "pw") {
		t.Errorf("applying a saved plan with another sensitive value: want a refusal naming the variable\n%s", r)
	}
}

// TestChangedHashKeyRerunsOnce: when the recorded hashes no longer match
// (a state from before keyed hashes, or a lost key), the steps with a
// sensitive input run once more and then are up to date again: never a
// rerun on every apply.
func TestChangedHashKeyRerunsOnce(t *testing.T) {
	defer tally(t, promiseSecrets)
	src := sidePW + "exec \"secret\" {\n  command = [\"true\"]\n  env = { PW = var.pw }\n}\n\nexec \"plain\" {\n  command = [\"true\"]\n}\n"
	env := []string{"ANSFLOW_VAR_pw=" + canary}
	dir := clitest.Dir(t, map[string]string{"main.hcl": src})
	mustRun(t, dir, env, "apply", "-auto-approve")
	if err := os.Remove(filepath.Join(dir, ".ansflow", "keys", "default.key")); err != nil {
		t.Fatal(err)
	}
	if r := mustRun(t, dir, env, "plan"); !strings.Contains(r.Stdout, "1 to run") || !strings.Contains(r.Stdout, "exec.secret") {
		t.Errorf("plan after the key changed: want exec.secret to run once\n%s", r)
	}
	mustRun(t, dir, env, "apply", "-auto-approve")
	if r := mustRun(t, dir, env, "plan"); !strings.Contains(r.Stdout, "No changes") {
		t.Errorf("plan after the rerun: want no changes\n%s", r)
	}
}
