package modules

import (
	"strings"
	"testing"
)

func TestWriteReport(t *testing.T) {
	c1, c2 := strings.Repeat("1", 40), strings.Repeat("2", 40)
	results := []*Result{
		{Source: "git::https://h/b.git?ref=v1", Commit: c1, Action: Installed},
		{Source: "git::https://h/a.git?ref=main", Commit: c2, Previous: c1, Action: Installed},
		{Source: "git::https://h/c.git?ref=v2", Commit: c1, Action: UpToDate, Moved: c2},
		{Source: "git::https://h/d.git?ref=gone", Commit: c2, Action: UpToDate, Warning: `h/d.git has no tag or branch named "gone"`},
	}
	names := map[string][]string{
		"git::https://h/b.git?ref=v1":   {"module.api", "module.web"},
		"git::https://h/a.git?ref=main": {"module.lint"},
		"git::https://h/c.git?ref=v2":   {"module.db"},
	}
	var out strings.Builder
	WriteReport(&out, results, names)
	want := `Installing modules...
- git::https://h/d.git?ref=gone (commit 2222222, already installed)
  Warning: h/d.git has no tag or branch named "gone"; the pinned commit 2222222 is kept.
- module.api, module.web: git::https://h/b.git?ref=v1 (commit 1111111)
- module.db: git::https://h/c.git?ref=v2 (commit 1111111, already installed)
  Warning: the ref now names commit 2222222, but .ansflow.lock.hcl pins 1111111; the pin is kept. Run ansflow init -upgrade to move it.
- module.lint: git::https://h/a.git?ref=main (commit 1111111 -> 2222222)
`
	if got := out.String(); got != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
	out.Reset()
	WriteReport(&out, nil, nil)
	if out.Len() != 0 {
		t.Errorf("report of nothing: %q", out.String())
	}
}
