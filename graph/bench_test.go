package graph_test

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ansflow/ansflow/bench/pipegen"
	"github.com/ansflow/ansflow/graph"
	"github.com/ansflow/ansflow/providers/builtin"
)

// BenchmarkBuild measures graph.Build (the step graph of a loaded
// pipeline, with cycle detection) on generated pipelines, e.g.
// BenchmarkBuild/chain-10000.
func BenchmarkBuild(b *testing.B) {
	cases := []struct {
		shape pipegen.Shape
		n     int
	}{
		{pipegen.Fan, 1000},
		{pipegen.Fan, 10000},
		{pipegen.Chain, 10000},
		{pipegen.Layers, 10000},
		{pipegen.LayersBlocks, 1000},
	}
	for _, c := range cases {
		b.Run(string(c.shape)+"-"+strconv.Itoa(c.n), func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "p")
			if err := pipegen.WriteDir(dir, c.shape, c.n, pipegen.Options{}); err != nil {
				b.Fatal(err)
			}
			p, diags := builtin.Load(dir)
			if diags.HasErrors() {
				b.Fatal(diags.Error())
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, diags := graph.Build(p); diags.HasErrors() {
					b.Fatal(diags.Error())
				}
			}
		})
	}
}
