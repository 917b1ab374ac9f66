package safetytest

import (
	"strings"
	"testing"
)

// TestNewerFormatsRefused: a state or plan file written by a newer ansflow
// (format_version 99) is refused by every command that reads it, with a
// message naming the file and the version, and the state is left as it is.
func TestNewerFormatsRefused(t *testing.T) {
	defer tally(t, promiseMalformed)
	base := makeBaseline(t)
	newer := func(name string) func(*testing.T, *workspace) {
		return func(t *testing.T, w *workspace) {
			w.editJSON(t, name, func(m map[string]any) { m["format_version"] = 99 })
		}
	}
	cases := []struct {
		file string
		args []string
	}{
		{stateFile, []string{"apply", "-auto-approve"}},
		{stateFile, []string{"plan"}},
		{stateFile, []string{"destroy", "-auto-approve"}},
		{stateFile, []string{"show"}},
		{stateFile, []string{"output"}},
		{stateFile, []string{"state", "list"}},
		{stateFile, []string{"state", "rm", "exec.a"}},
		{stateFile, []string{"history"}},
		{planFile, []string{"apply", planFile}},
		{planFile, []string{"show", planFile}},
		{planFile, []string{"show", "-json", planFile}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			runHostile(t, base, hostile{
				setup: newer(c.file),
				args:  c.args,
				want:  []string{baseName(c.file), "99", "newer"},
			})
		})
	}
}

func baseName(p string) string { return p[strings.LastIndex(p, "/")+1:] }
