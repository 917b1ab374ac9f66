package graph

import (
	"fmt"
	"strings"

	"github.com/ansflow/ansflow/config"
	"github.com/hashicorp/hcl/v2"
)

// Steps is the step-level graph of a pipeline: one node per step block
// (before for_each expansion, modules included once per call), edges from
// references and depends_on.
type Steps struct {
	*Graph
	Steps []*config.Step     // by node id
	Mods  []*ModuleInstance  // by node id: the module (call) each step is in
	Index map[string]int     // node id by step address
	Tree  *ModuleInstance    // the module tree, one instance per call
	refs  [][]config.StepRef // refs[n][i] is the reference behind the i-th dep edge
}

// Build makes the step graph of p. A dependency cycle is an error diagnostic
// pointing at one of the references that close it.
func Build(p *config.Pipeline) (*Steps, hcl.Diagnostics) {
	tree := ModuleTree(p, nil)
	g := &Steps{
		Graph: New(len(p.StepOrder)),
		Steps: make([]*config.Step, 0, len(p.StepOrder)),
		Index: make(map[string]int, len(p.StepOrder)),
		Tree:  tree,
	}
	tree.Walk(func(m *ModuleInstance) {
		for _, s := range m.Body.StepOrder {
			addr := m.StepAddr(s)
			g.Index[addr] = g.AddNode(addr)
			g.Steps = append(g.Steps, s)
			g.Mods = append(g.Mods, m)
		}
	})
	g.refs = make([][]config.StepRef, len(g.Steps))
	for n, s := range g.Steps {
		for _, d := range StepDeps(g.Mods[n], s) {
			to := g.Index[d.Mod.StepAddr(d.Step)]
			g.AddEdge(n, to)
			g.refs[n] = append(g.refs[n], d.Ref)
		}
	}
	var diags hcl.Diagnostics
	if c := g.Cycle(); c != nil {
		diags = append(diags, g.cycleDiag(c))
	}
	return g, diags
}

// RefTo returns the reference from node n that made its edge to dep.
func (g *Steps) RefTo(n, dep int) (config.StepRef, bool) {
	for i, d := range g.deps[n] {
		if d == dep {
			return g.refs[n][i], true
		}
	}
	return config.StepRef{}, false
}

func (g *Steps) cycleDiag(c []int) *hcl.Diagnostic {
	names := make([]string, 0, len(c)+1)
	for _, n := range c {
		names = append(names, g.Name(n))
	}
	names = append(names, g.Name(c[0]))
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Dependency cycle",
		Detail: fmt.Sprintf("These steps depend on each other in a circle: %s. Remove one of these references or depends_on entries so the steps can run in order.",
			strings.Join(names, " -> ")),
	}
	if len(c) == 1 {
		d.Detail = fmt.Sprintf("%s refers to itself. A step cannot use its own values; refer to another step or a variable instead.", names[0])
	}
	if r, ok := g.RefTo(c[0], c[(1)%len(c)]); ok {
		rng := r.Range
		d.Subject = &rng
	} else {
		rng := g.Steps[c[0]].DeclRange
		d.Subject = &rng
	}
	return d
}
