package graph

import "sort"

// Box is a node placed by Layered: its rectangle, its layer (column) and
// its place in the layer (row).
type Box struct {
	X, Y, W, H   float64
	Layer, Order int
}

// Layout is where Layered put every node, by node id.
type Layout struct {
	Boxes         []Box
	Layers        [][]int // node ids of each layer, top to bottom
	Width, Height float64
}

// LayoutOptions size a layered layout.
type LayoutOptions struct {
	// Label width of node n in pixels; nil: 7 pixels a character of its name.
	LabelWidth func(n int) float64
	NodeHeight float64 // default 28
	MaxWidth   float64 // widest node, default 320
	GapX, GapY float64 // between layers and between rows; default 40, 12
	Sweeps     int     // barycentre ordering passes; default 4
}

func (o *LayoutOptions) defaults(g *Graph) {
	if o.LabelWidth == nil {
		o.LabelWidth = func(n int) float64 { return 7*float64(len(g.Name(n))) + 20 }
	}
	if o.NodeHeight == 0 {
		o.NodeHeight = 28
	}
	if o.MaxWidth == 0 {
		o.MaxWidth = 320
	}
	if o.GapX == 0 {
		o.GapX = 40
	}
	if o.GapY == 0 {
		o.GapY = 12
	}
	if o.Sweeps == 0 {
		o.Sweeps = 4
	}
}

// Layered lays the graph out in columns, left to right in the order steps
// run: a node's column is one more than its deepest dependency's, so every
// edge points left. Within a column, nodes are ordered by the mean row of
// their neighbours (a few sweeps each way) to keep edges short and crossing
// little. The graph must be acyclic.
func (g *Graph) Layered(o LayoutOptions) (*Layout, error) {
	o.defaults(g)
	order, err := g.TopoOrder()
	if err != nil {
		return nil, err
	}
	l := &Layout{Boxes: make([]Box, g.Len())}
	for _, n := range order {
		layer := 0
		for _, d := range g.deps[n] {
			layer = max(layer, l.Boxes[d].Layer+1)
		}
		l.Boxes[n].Layer = layer
		for len(l.Layers) <= layer {
			l.Layers = append(l.Layers, nil)
		}
		l.Layers[layer] = append(l.Layers[layer], n)
	}
	for _, nodes := range l.Layers {
		sort.SliceStable(nodes, func(i, j int) bool { return g.names[nodes[i]] < g.names[nodes[j]] })
		l.renumber(nodes)
	}
	for range o.Sweeps {
		for i := 1; i < len(l.Layers); i++ {
			l.orderBy(l.Layers[i], g.deps)
		}
		for i := len(l.Layers) - 2; i >= 0; i-- {
			l.orderBy(l.Layers[i], g.dependents)
		}
	}
	l.place(o)
	return l, nil
}

func (l *Layout) renumber(nodes []int) {
	for i, n := range nodes {
		l.Boxes[n].Order = i
	}
}

// orderBy sorts a layer by the mean order of each node's neighbours in
// the adjacent layer; nodes without neighbours keep their place.
func (l *Layout) orderBy(nodes []int, adj [][]int) {
	key := make(map[int]float64, len(nodes))
	for _, n := range nodes {
		key[n] = float64(l.Boxes[n].Order)
		if len(adj[n]) == 0 {
			continue
		}
		sum := 0.0
		for _, m := range adj[n] {
			sum += float64(l.Boxes[m].Order)
		}
		key[n] = sum / float64(len(adj[n]))
	}
	sort.SliceStable(nodes, func(i, j int) bool { return key[nodes[i]] < key[nodes[j]] })
	l.renumber(nodes)
}

func (l *Layout) place(o LayoutOptions) {
	x := o.GapY
	for _, nodes := range l.Layers {
		w := 0.0
		for _, n := range nodes {
			w = max(w, min(o.LabelWidth(n), o.MaxWidth))
		}
		y := o.GapY
		for _, n := range nodes {
			b := &l.Boxes[n]
			b.X, b.Y, b.W, b.H = x, y, w, o.NodeHeight
			y += o.NodeHeight + o.GapY
		}
		l.Height = max(l.Height, y)
		x += w + o.GapX
	}
	l.Width = x - o.GapX + o.GapY
	if len(l.Layers) == 0 {
		l.Width, l.Height = 0, 0
	}
}
