// Package graph holds the dependency graph of a pipeline: a small DAG of
// integer nodes with cycle detection, topological order, a bounded parallel
// walk and DOT output, plus the builder that turns a config.Pipeline into a
// graph of steps.
package graph

import (
	"fmt"
	"io"
	"strings"
)

// Graph is a directed graph whose edges point from a node to the nodes it
// depends on. Nodes are dense integers returned by AddNode. A Graph is not
// safe for concurrent mutation; once built it may be read concurrently.
type Graph struct {
	names      []string
	deps       [][]int // deps[n]: nodes n depends on
	dependents [][]int // dependents[n]: nodes that depend on n
	edges      int
}

// New returns an empty graph with room for n nodes.
func New(n int) *Graph {
	return &Graph{
		names:      make([]string, 0, n),
		deps:       make([][]int, 0, n),
		dependents: make([][]int, 0, n),
	}
}

// AddNode adds a node called name and returns its id.
func (g *Graph) AddNode(name string) int {
	g.names = append(g.names, name)
	g.deps = append(g.deps, nil)
	g.dependents = append(g.dependents, nil)
	return len(g.names) - 1
}

// AddEdge records that node from depends on node to. Duplicate edges are
// kept out only when added consecutively; callers de-duplicate otherwise.
func (g *Graph) AddEdge(from, to int) {
	if d := g.deps[from]; len(d) > 0 && d[len(d)-1] == to {
		return
	}
	g.deps[from] = append(g.deps[from], to)
	g.dependents[to] = append(g.dependents[to], from)
	g.edges++
}

// Len is the number of nodes.
func (g *Graph) Len() int { return len(g.names) }

// Edges is the number of edges.
func (g *Graph) Edges() int { return g.edges }

// Name returns the name of node n.
func (g *Graph) Name(n int) string { return g.names[n] }

// Deps returns the nodes n depends on. The slice must not be modified.
func (g *Graph) Deps(n int) []int { return g.deps[n] }

// Dependents returns the nodes that depend on n. The slice must not be modified.
func (g *Graph) Dependents(n int) []int { return g.dependents[n] }

// Cycle returns the nodes of one dependency cycle, in order (each depends on
// the next, the last on the first), or nil when the graph is acyclic.
func (g *Graph) Cycle() []int {
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(g.names))
	parent := make([]int, len(g.names))
	type frame struct{ node, next int }
	for start := range g.names {
		if color[start] != white {
			continue
		}
		stack := []frame{{start, 0}}
		color[start] = grey
		parent[start] = -1
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(g.deps[top.node]) {
				color[top.node] = black
				stack = stack[:len(stack)-1]
				continue
			}
			d := g.deps[top.node][top.next]
			top.next++
			switch color[d] {
			case white:
				color[d] = grey
				parent[d] = top.node
				stack = append(stack, frame{d, 0})
			case grey:
				// top.node -> d closes a cycle: d ... top.node
				cycle := []int{top.node}
				for n := top.node; n != d; {
					n = parent[n]
					cycle = append(cycle, n)
				}
				// cycle is top.node, parent(top.node), ..., d: reverse it so
				// each element depends on the next.
				for i, j := 0, len(cycle)-1; i < j; i, j = i+1, j-1 {
					cycle[i], cycle[j] = cycle[j], cycle[i]
				}
				return cycle
			}
		}
	}
	return nil
}

// TopoOrder returns the nodes with every node after all of its
// dependencies, or an error naming a cycle.
func (g *Graph) TopoOrder() ([]int, error) {
	pending := make([]int, len(g.names))
	order := make([]int, 0, len(g.names))
	for n := range g.names {
		pending[n] = len(g.deps[n])
		if pending[n] == 0 {
			order = append(order, n)
		}
	}
	for i := 0; i < len(order); i++ {
		for _, d := range g.dependents[order[i]] {
			pending[d]--
			if pending[d] == 0 {
				order = append(order, d)
			}
		}
	}
	if len(order) != len(g.names) {
		return nil, fmt.Errorf("dependency cycle: %s", g.describeCycle(g.Cycle()))
	}
	return order, nil
}

func (g *Graph) describeCycle(c []int) string {
	parts := make([]string, 0, len(c)+1)
	for _, n := range c {
		parts = append(parts, g.names[n])
	}
	if len(c) > 0 {
		parts = append(parts, g.names[c[0]])
	}
	return strings.Join(parts, " -> ")
}

// Ancestors returns every node reachable from the given nodes through
// dependency edges, the given nodes included.
func (g *Graph) Ancestors(from []int) map[int]bool {
	seen := make(map[int]bool, len(from))
	stack := append([]int(nil), from...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, g.deps[n]...)
	}
	return seen
}

// WriteDOT writes the graph in Graphviz DOT form, nodes and edges sorted by
// name so the output is stable. Edges point from a node to its dependency.
func (g *Graph) WriteDOT(w io.Writer, title string) error {
	return g.WriteDOTGroups(w, title, nil)
}
