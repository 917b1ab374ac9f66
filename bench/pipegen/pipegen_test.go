package pipegen_test

import (
	"path/filepath"
	"testing"

	"github.com/ansflow/ansflow/bench/pipegen"
	"github.com/ansflow/ansflow/graph"
	"github.com/ansflow/ansflow/providers/builtin"
)

func TestGeneratedPipelinesLoad(t *testing.T) {
	tests := []struct {
		shape     pipegen.Shape
		refs      bool
		n         int
		wantSteps int // step blocks
		wantEdges int // step-level dependencies
	}{
		{pipegen.Chain, false, 20, 20, 19},
		{pipegen.Chain, true, 20, 20, 19},
		{pipegen.Fan, false, 20, 20, 0},
		{pipegen.Layers, false, 20, 10, 9},
		{pipegen.Layers, true, 20, 10, 9},
		{pipegen.LayersBlocks, false, 20, 20, 9 * 2 * 2},
		{pipegen.LayersBlocks, true, 20, 20, 9 * 2 * 2},
		{pipegen.Layers, false, 5, 10, 9}, // at least one instance per layer
		{pipegen.ModulesFlat, false, 20, 20, 4 * (pipegen.ModuleSteps - 1)},
		{pipegen.Modules, false, 20, 20, 4 * (pipegen.ModuleSteps - 1)},
		{pipegen.ModulesForEach, false, 20, pipegen.ModuleSteps, pipegen.ModuleSteps - 1},
	}
	for _, tt := range tests {
		name := string(tt.shape)
		if tt.refs {
			name += "-refs"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			if err := pipegen.WriteDir(dir, tt.shape, tt.n, pipegen.Options{ValueRefs: tt.refs}); err != nil {
				t.Fatal(err)
			}
			p, diags := builtin.Load(dir)
			if diags.HasErrors() {
				t.Fatalf("generated pipeline does not load: %s", diags.Error())
			}
			g, diags := graph.Build(p)
			if diags.HasErrors() {
				t.Fatalf("graph.Build: %s", diags.Error())
			}
			if got := len(g.Steps); got != tt.wantSteps {
				t.Errorf("steps = %d, want %d", got, tt.wantSteps)
			}
			edges := 0
			for _, s := range g.Steps {
				edges += len(s.Refs)
			}
			if edges != tt.wantEdges {
				t.Errorf("dependencies = %d, want %d", edges, tt.wantEdges)
			}
		})
	}
}

func TestWriteRejects(t *testing.T) {
	dir := t.TempDir()
	if err := pipegen.WriteDir(dir, pipegen.Fan, 0, pipegen.Options{}); err == nil {
		t.Error("n = 0: want an error")
	}
	if err := pipegen.WriteDir(dir, "star", 10, pipegen.Options{}); err == nil {
		t.Error("unknown shape: want an error")
	}
	if _, err := pipegen.ParseShape("star"); err == nil {
		t.Error("ParseShape(star): want an error")
	}
}
