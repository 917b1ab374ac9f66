package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/providers/builtin"
	"github.com/ansflow/ansflow/state"
)

// moduleBenchSteps are the five chained steps of one service, as a module
// body (prefix "") or written out flat for service i.
func moduleBenchSteps(name, prefix string) string {
	var b strings.Builder
	for j := 0; j < 5; j++ {
		fmt.Fprintf(&b, "exec %q {\n  command = [\"echo\", %s", fmt.Sprintf("%ss%d", prefix, j), name)
		if j > 0 {
			fmt.Fprintf(&b, ", exec.%ss%d.stdout", prefix, j-1)
		}
		b.WriteString("]\n}\n")
	}
	return b.String()
}

// writeModuleBench writes n services as module instances (modules) or as
// 5n flat steps.
func writeModuleBench(b *testing.B, n int, modules bool) *benchPipeline {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "p")
	files := map[string]string{}
	if modules {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("%q", fmt.Sprintf("svc%d", i))
		}
		files["main.hcl"] = fmt.Sprintf("module \"svc\" {\n  source   = \"./modules/svc\"\n  for_each = toset([%s])\n  name     = each.key\n}\n", strings.Join(keys, ", "))
		files["modules/svc/main.hcl"] = "variable \"name\" { type = string }\n" + moduleBenchSteps("var.name", "")
	} else {
		var sb strings.Builder
		for i := 0; i < n; i++ {
			sb.WriteString(moduleBenchSteps(fmt.Sprintf("%q", fmt.Sprintf("svc%d", i)), fmt.Sprintf("svc%d_", i)))
		}
		files["main.hcl"] = sb.String()
	}
	for name, src := range files {
		full := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	p, diags := loadPipeline(dir)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	return &benchPipeline{dir: dir, p: p, n: 5 * n}
}

// BenchmarkPlanModules compares planning 100 instances of a module of five
// steps with planning the same 500 steps written out flat (empty state,
// refresh off).
func BenchmarkPlanModules(b *testing.B) {
	for _, modules := range []bool{false, true} {
		name := "flat-500"
		if modules {
			name = "modules-100x5"
		}
		b.Run(name, func(b *testing.B) {
			bp := writeModuleBench(b, 100, modules)
			eng := bp.engine(filepath.Join(bp.dir, ".ansflow", "state"), builtin.Registry())
			st := state.New("default")
			if plan := bp.plan(b, eng, st, engine.Options{}); len(plan.Changes) != bp.n {
				b.Fatalf("plan has %d changes, want %d", len(plan.Changes), bp.n)
			}
			b.ReportAllocs()
			for b.Loop() {
				bp.plan(b, eng, st, engine.Options{Refresh: false})
			}
			perStep(b, bp.n)
		})
	}
}
