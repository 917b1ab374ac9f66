package graph

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Groups says which nested groups node n is drawn in, outermost first (for
// a step graph, the module paths around the step); nil for none.
type Groups func(n int) []string

// group is one drawn group and what is directly in it.
type group struct {
	name     string
	nodes    []int
	children []*group
	index    map[string]*group
}

func (gr *group) child(name string) *group {
	if c, ok := gr.index[name]; ok {
		return c
	}
	c := &group{name: name}
	if gr.index == nil {
		gr.index = map[string]*group{}
	}
	gr.index[name] = c
	gr.children = append(gr.children, c)
	return c
}

// groupTree puts the nodes (sorted by name) into their groups.
func (g *Graph) groupTree(groups Groups) *group {
	root := &group{}
	for _, n := range g.byName() {
		gr := root
		if groups != nil {
			for _, name := range groups(n) {
				gr = gr.child(name)
			}
		}
		gr.nodes = append(gr.nodes, n)
	}
	return root
}

// ModuleGroups groups the steps of a step graph by the modules they are in.
func (g *Steps) ModuleGroups() Groups {
	return func(n int) []string {
		var chain []string
		for m := g.Mods[n]; m != nil && m.Call != nil; m = m.Parent {
			chain = append([]string{m.Path}, chain...)
		}
		return chain
	}
}

// WriteDOTGroups is WriteDOT with each group drawn as a cluster
// (subgraph cluster_N, labelled with the group's name).
func (g *Graph) WriteDOTGroups(w io.Writer, title string, groups Groups) error {
	var b strings.Builder
	b.WriteString("digraph " + strconv.Quote(title) + " {\n")
	b.WriteString("  rankdir = \"RL\";\n  node [shape = box];\n")
	next := 0
	var write func(gr *group, indent string)
	write = func(gr *group, indent string) {
		for _, n := range gr.nodes {
			b.WriteString(indent + strconv.Quote(g.names[n]) + ";\n")
		}
		for _, c := range gr.children {
			next++
			fmt.Fprintf(&b, "%ssubgraph %s {\n%s  label = %s;\n", indent, strconv.Quote("cluster_"+strconv.Itoa(next)), indent, strconv.Quote(c.name))
			write(c, indent+"  ")
			b.WriteString(indent + "}\n")
		}
	}
	write(g.groupTree(groups), "  ")
	for _, n := range g.byName() {
		for _, d := range g.sortedDeps(n) {
			b.WriteString("  " + strconv.Quote(g.names[n]) + " -> " + strconv.Quote(g.names[d]) + ";\n")
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMermaidGroups is WriteMermaid with each group drawn as a subgraph.
func (g *Graph) WriteMermaidGroups(w io.Writer, groups Groups) error {
	var b strings.Builder
	b.WriteString("flowchart RL\n")
	ids := g.byName()
	key := make([]string, len(g.names))
	for i, n := range ids {
		key[n] = fmt.Sprintf("n%d", i)
	}
	next := 0
	var write func(gr *group, indent string)
	write = func(gr *group, indent string) {
		for _, n := range gr.nodes {
			fmt.Fprintf(&b, "%s%s[\"%s\"]\n", indent, key[n], mermaidText(g.names[n]))
		}
		for _, c := range gr.children {
			next++
			fmt.Fprintf(&b, "%ssubgraph m%d[\"%s\"]\n", indent, next, mermaidText(c.name))
			write(c, indent+"  ")
			b.WriteString(indent + "end\n")
		}
	}
	write(g.groupTree(groups), "  ")
	for _, n := range ids {
		for _, d := range g.sortedDeps(n) {
			fmt.Fprintf(&b, "  %s --> %s\n", key[n], key[d])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
