package safetytest

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
)

// TestDeepNesting feeds a pipeline of 100 000 nested brackets (200 kB). It
// must get a diagnostic, not a crash: HCL's parser recurses once per level
// and used to die with "fatal error: stack overflow" (about 60 000 levels
// were enough); config.Load now refuses deep nesting before parsing.
func TestDeepNesting(t *testing.T) {
	defer tally(t, promiseHostile)
	const depth = 100000
	src := "locals {\n  a = " + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n}\n"
	dir := clitest.Dir(t, map[string]string{"main.hcl": src})
	r := run(t, dir, nil, "validate")
	if crashed(r.Output()) {
		t.Fatalf("ansflow crashed on %d nested brackets\n%s", depth, clitest.Clip(r.Output()))
	}
	if r.Code == 0 || !strings.Contains(r.Output(), "main.hcl line 2") {
		t.Errorf("want a diagnostic at main.hcl line 2\n%s", r)
	}
}

// TestVarFileRelativeToChdir: with -chdir=DIR, a relative -var-file is
// read from DIR, as terraform does (it used to be read from the directory
// ansflow was started in).
func TestVarFileRelativeToChdir(t *testing.T) {
	dir := clitest.Dir(t, map[string]string{
		"main.hcl":   "variable \"n\" {\n  type = number\n}\n\nexec \"a\" {\n  command = [\"echo\", var.n]\n}\n",
		"n.vars.hcl": "n = 3\n",
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := clitest.New(t).Command(ctx, dir, "plan", "-var-file=n.vars.hcl")
	cmd.Dir = t.TempDir() // somewhere else
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("plan -chdir=%s -var-file=n.vars.hcl: %v\n%s", filepath.Base(dir), err, out.String())
	}
}

// TestChainedLocals validates and plans a chain of 10 000 locals (100 000
// with ANSFLOW_LONG=1), each referring to the one before. Checking the
// references used to sort every local's name for each reference (21 s for
// 10 000); it is linear now (BenchmarkChainedLocals in config measures it).
func TestChainedLocals(t *testing.T) {
	defer tally(t, promiseHostile)
	n := 10_000
	if longRun() {
		n = 100_000
	}
	limit("chained locals", int64(n))
	var b strings.Builder
	b.WriteString("locals {\n  l0 = 1\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  l%d = local.l%d + 1\n", i, i-1)
	}
	fmt.Fprintf(&b, "}\n\nexec \"a\" {\n  command = [\"echo\", local.l%d]\n}\n", n-1)
	dir := clitest.Dir(t, map[string]string{"main.hcl": b.String()})
	mustRun(t, dir, nil, "validate")
	if r := mustRun(t, dir, nil, "plan"); !strings.Contains(r.Stdout, "1 to run") {
		t.Errorf("plan of %d chained locals\n%s", n, r)
	}
}
