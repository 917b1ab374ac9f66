package graph

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// WriteMermaid writes the graph as a Mermaid flowchart (GitHub and GitLab
// render it in Markdown): dependencies on the left, an arrow from each node
// to what it depends on, as in WriteDOT. Nodes are sorted by name.
func (g *Graph) WriteMermaid(w io.Writer) error {
	return g.WriteMermaidGroups(w, nil)
}

// mermaidText escapes a label for a quoted Mermaid node text: quotes and
// the characters Mermaid reads as markup become HTML entity codes.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '"', '<', '>', '&', '#', '\\', '`':
			fmt.Fprintf(&b, "#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// byName returns the node ids sorted by name.
func (g *Graph) byName() []int {
	ids := make([]int, len(g.names))
	for i := range ids {
		ids[i] = i
	}
	sort.Slice(ids, func(i, j int) bool { return g.names[ids[i]] < g.names[ids[j]] })
	return ids
}

// sortedDeps returns n's dependencies sorted by name, each once.
func (g *Graph) sortedDeps(n int) []int {
	deps := append([]int(nil), g.deps[n]...)
	sort.Slice(deps, func(i, j int) bool { return g.names[deps[i]] < g.names[deps[j]] })
	return slices.Compact(deps)
}
