package graph

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"strconv"
)

// SVGOptions change how WriteSVG draws nodes.
type SVGOptions struct {
	Layout LayoutOptions
	// Standalone adds the XML prolog and a <style> element, for a file of
	// its own; without it the SVG is meant to be inlined in a page whose
	// stylesheet styles the classes (a strict Content-Security-Policy
	// forbids inline styles).
	Standalone bool
	// Class of node n's group, besides "node" (e.g. its status).
	Class func(n int) string
	// Href of node n, wrapping it in a link.
	Href func(n int) string
	// ID attribute of node n's group.
	ID func(n int) string
}

const standaloneStyle = `
.node rect { fill: #f5f7fa; stroke: #44546a; stroke-width: 1.2; rx: 4; }
.node text { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; fill: #1b2430; }
.edge { fill: none; stroke: #8895a7; stroke-width: 1.1; }
`

// WriteSVG draws the graph with the Layered layout: a box per node, a curve
// per edge from a dependency (left) to its dependent (right), with an arrow
// head on the dependent's side.
func (g *Graph) WriteSVG(w io.Writer, o SVGOptions) error {
	l, err := g.Layered(o.Layout)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if o.Standalone {
		bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	}
	height := l.Height + longEdgeDrop
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="%s" height="%s" viewBox="0 0 %s %s" role="img">`+"\n",
		num(l.Width), num(height), num(l.Width), num(height))
	if o.Standalone {
		bw.WriteString("<style>" + standaloneStyle + "</style>\n")
	}
	bw.WriteString(`<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" class="arrow"/></marker></defs>` + "\n")
	bw.WriteString(`<g class="edges">` + "\n")
	for n := range g.names {
		for _, d := range g.deps[n] {
			writeEdge(bw, l.Boxes[d], l.Boxes[n])
		}
	}
	bw.WriteString("</g>\n<g class=\"nodes\">\n")
	for n, name := range g.names {
		writeNode(bw, n, name, l.Boxes[n], o)
	}
	bw.WriteString("</g>\n</svg>\n")
	return bw.Flush()
}

// longEdgeDrop is how far below the boxes an edge that skips columns dips.
const longEdgeDrop = 24

// writeEdge draws an edge from a dependency to its dependent: to the next
// column straight across, further as an arc under the boxes it passes, from
// bottom to bottom, so it does not cross them.
func writeEdge(bw *bufio.Writer, from, to Box) {
	if to.Layer-from.Layer <= 1 {
		x1, y1 := from.X+from.W, from.Y+from.H/2
		x2, y2 := to.X, to.Y+to.H/2
		mid := (x1 + x2) / 2
		fmt.Fprintf(bw, `<path class="edge" d="M%s,%s C%s,%s %s,%s %s,%s" marker-end="url(#arrow)"/>`+"\n",
			num(x1), num(y1), num(mid), num(y1), num(mid), num(y2), num(x2), num(y2))
		return
	}
	x1, y1 := from.X+from.W*2/3, from.Y+from.H
	x2, y2 := to.X+to.W/3, to.Y+to.H
	low := max(y1, y2) + longEdgeDrop
	fmt.Fprintf(bw, `<path class="edge long" d="M%s,%s C%s,%s %s,%s %s,%s" marker-end="url(#arrow)"/>`+"\n",
		num(x1), num(y1), num(x1), num(low), num(x2), num(low), num(x2), num(y2))
}

func writeNode(bw *bufio.Writer, n int, name string, b Box, o SVGOptions) {
	class := "node"
	if o.Class != nil {
		if c := o.Class(n); c != "" {
			class += " " + c
		}
	}
	href := ""
	if o.Href != nil {
		href = o.Href(n)
	}
	if href != "" {
		fmt.Fprintf(bw, `<a href="%s">`, html.EscapeString(href))
	}
	id := ""
	if o.ID != nil {
		if v := o.ID(n); v != "" {
			id = ` id="` + html.EscapeString(v) + `"`
		}
	}
	label := name
	if maxChars := int((b.W - 20) / 7); maxChars > 1 && len(label) > maxChars {
		label = label[:maxChars-1] + "…"
	}
	fmt.Fprintf(bw, `<g class="%s"%s data-addr="%s"><title>%s</title><rect x="%s" y="%s" width="%s" height="%s" rx="4"/><text x="%s" y="%s">%s</text></g>`,
		html.EscapeString(class), id, html.EscapeString(name), html.EscapeString(name),
		num(b.X), num(b.Y), num(b.W), num(b.H), num(b.X+10), num(b.Y+b.H/2+4), html.EscapeString(label))
	if href != "" {
		bw.WriteString("</a>")
	}
	bw.WriteString("\n")
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
