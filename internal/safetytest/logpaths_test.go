package safetytest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/internal/clitest"
)

// TestLogPaths: for_each keys that differ only in how a slash is written,
// a 300-character step name and keys of 300 and 5 000 characters all apply
// and keep their own logs, found again by `ansflow logs`.
func TestLogPaths(t *testing.T) {
	long := strings.Repeat("n", 300)
	keys := []string{"x/y", "x%2Fy", "x%252Fy", `x\\y`, "..", ".hidden", strings.Repeat("k", 300), strings.Repeat("k", 299) + "j", strings.Repeat("é/", 2500)}
	limit("log file name (characters of a for_each key)", int64(len(keys[len(keys)-1])))
	var quoted []string
	for _, k := range keys {
		quoted = append(quoted, fmt.Sprintf("%q", k))
	}
	src := fmt.Sprintf("exec \"each\" {\n  for_each = toset([%s])\n  command  = [\"echo\", \"out=${each.key}\"]\n}\n\nexec %q {\n  command = [\"echo\", \"long name\"]\n}\n",
		strings.Join(quoted, ", "), long)
	dir := clitest.Dir(t, map[string]string{"main.hcl": src})
	r := run(t, dir, nil, "apply", "-auto-approve")
	func() {
		defer tally(t, promiseHostile)
		if r.Code != 0 {
			t.Fatalf("apply\n%s", r)
		}
	}()
	for _, k := range keys {
		func() {
			defer tally(t, promiseHostile)
			addr := fmt.Sprintf("exec.each[%q]", k)
			lr := run(t, dir, nil, "logs", addr)
			if lr.Code != 0 || strings.TrimSpace(lr.Stdout) != "out="+k {
				t.Errorf("ansflow logs %s: want out=%s\n%s", addr, k, lr)
			}
		}()
	}
	if lr := run(t, dir, nil, "logs", "exec."+long); lr.Code != 0 || !strings.Contains(lr.Stdout, "long name") {
		t.Errorf("logs of the 300-character step\n%s", lr)
	}
}
