package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/engine"
)

func TestPlansPage(t *testing.T) {
	f := newFixture(t)
	before, after, secret := "41", "42", "hunter2"
	p := &engine.Plan{FormatVersion: engine.PlanFormatVersion, Workspace: "default", Lineage: "l-1", RunNumber: 3, Sources: map[string]string{}, Changes: []*engine.Change{
		{Addr: "docker_build.app", Type: "docker_build", Action: engine.Update, Declarative: true, Reasons: []string{"tag changed"},
			Attrs: []engine.AttrChange{{Path: "tag", Before: &before, After: &after}, {Path: "build_args.TOKEN", Before: &secret, After: &secret, Sensitive: true}}},
		{Addr: "exec.quiet", Type: "exec", Action: engine.NoOp},
	}, Moves: []engine.Move{{From: "exec.loud", To: "exec.quiet"}}}
	data, err := engine.EncodePlan(p)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(f.dir, "release.tfplan"), data, 0o600)
	os.WriteFile(filepath.Join(f.dir, "notes.txt"), []byte("not a plan"), 0o600)
	ts := f.server(t, "")
	_, body := get(t, nil, ts.URL+"/plans")
	for _, w := range []string{"release.tfplan", "Plan: 0 to create, 1 to update", "tag changed", `<pre>41</pre>`, `<pre>42</pre>`, "(sensitive value)", "exec.quiet", "<code>exec.loud</code> has moved to <code>exec.quiet</code>"} {
		if !strings.Contains(body, w) {
			t.Errorf("the plan page lacks %q", w)
		}
	}
	for _, r := range []string{"hunter2", "notes.txt"} {
		if strings.Contains(body, r) {
			t.Errorf("the plan page has %q", r)
		}
	}
	if resp, _ := get(t, nil, ts.URL+"/plans?file=../../etc/passwd"); resp.StatusCode != 404 {
		t.Errorf("a path not listed: status %d, want 404", resp.StatusCode)
	}
}
