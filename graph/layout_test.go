package graph

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestLayeredPutsDependenciesLeft(t *testing.T) {
	tests := []struct {
		name   string
		g      *Graph
		layers [][]string
	}{
		{"diamond", diamond(), [][]string{{"a", "e"}, {"b", "c"}, {"d"}}},
		{"empty", New(0), nil},
		{"chain with a shortcut", chain(3, [2]int{2, 0}), [][]string{{"s0"}, {"s1"}, {"s2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tt.g.Layered(LayoutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, layer := range l.Layers {
				var names []string
				for _, n := range layer {
					names = append(names, tt.g.Name(n))
				}
				got = append(got, names)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.layers) {
				t.Errorf("layers = %v, want %v", got, tt.layers)
			}
			for n := 0; n < tt.g.Len(); n++ {
				for _, d := range tt.g.Deps(n) {
					if l.Boxes[d].X+l.Boxes[d].W >= l.Boxes[n].X {
						t.Errorf("%s is not left of its dependent %s", tt.g.Name(d), tt.g.Name(n))
					}
				}
			}
		})
	}
}

func chain(n int, extra ...[2]int) *Graph {
	g := New(n)
	for i := range n {
		g.AddNode(fmt.Sprintf("s%d", i))
		if i > 0 {
			g.AddEdge(i, i-1)
		}
	}
	for _, e := range extra {
		g.AddEdge(e[0], e[1])
	}
	return g
}

func TestLayeredRefusesCycle(t *testing.T) {
	g := chain(2, [2]int{0, 1})
	if _, err := g.Layered(LayoutOptions{}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("err = %v, want a cycle error", err)
	}
}

func TestWriteSVGIsWellFormedAndEscaped(t *testing.T) {
	g := New(2)
	g.AddNode(`exec.x["<a&b>"]`)
	g.AddNode("exec.y")
	g.AddEdge(1, 0)
	for _, standalone := range []bool{true, false} {
		var buf bytes.Buffer
		err := g.WriteSVG(&buf, SVGOptions{Standalone: standalone,
			Class: func(n int) string { return "status-ok" },
			Href:  func(n int) string { return "/step?addr=" + g.Name(n) }})
		if err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(&buf)
		rects, styles := 0, 0
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("standalone=%v: not well-formed XML: %v", standalone, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				switch se.Name.Local {
				case "rect":
					rects++
				case "style":
					styles++
				}
			}
		}
		if rects != 2 {
			t.Errorf("standalone=%v: %d boxes, want 2", standalone, rects)
		}
		if want := map[bool]int{true: 1, false: 0}[standalone]; styles != want {
			t.Errorf("standalone=%v: %d <style> elements, want %d", standalone, styles, want)
		}
	}
}

func TestWriteMermaid(t *testing.T) {
	g := diamond()
	g.AddNode(`exec.q["x"]`)
	var buf bytes.Buffer
	if err := g.WriteMermaid(&buf); err != nil {
		t.Fatal(err)
	}
	want := `flowchart RL
  n0["a"]
  n1["b"]
  n2["c"]
  n3["d"]
  n4["e"]
  n5["exec.q[#34;x#34;]"]
  n1 --> n0
  n2 --> n0
  n3 --> n1
  n3 --> n2
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func BenchmarkLayered5000(b *testing.B) {
	g := wide(5000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Layered(LayoutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// wide is a pipeline-like graph of n steps: layers of 50, each step
// depending on two of the layer before.
func wide(n int) *Graph {
	g := New(n)
	for i := range n {
		g.AddNode(fmt.Sprintf("exec.step_%05d", i))
		if i >= 50 {
			g.AddEdge(i, i-50)
			g.AddEdge(i, i-50+(i*7)%50-(i%50))
		}
	}
	return g
}
