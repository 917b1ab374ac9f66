package cmd

import (
	"fmt"
	"io"

	"github.com/ansflow/ansflow/graph"
)

const graphFormatHelp = `
-format=mermaid writes a Mermaid flowchart, which GitHub and GitLab render in
Markdown (put it in a "mermaid" code block). -format=svg draws the graph
itself, steps in columns in the order they run, with no other tool needed:
ansflow graph -format=svg > graph.svg`

// writeGraph writes the step graph in one of the graph command's formats;
// groups (may be nil) clusters the steps of each module in dot and
// mermaid.
func writeGraph(w io.Writer, g *graph.Graph, groups graph.Groups, format string) error {
	switch format {
	case "dot", "":
		return g.WriteDOTGroups(w, "ansflow", groups)
	case "mermaid":
		return g.WriteMermaidGroups(w, groups)
	case "svg":
		return g.WriteSVG(w, graph.SVGOptions{Standalone: true})
	}
	return &exitError{code: 1, msg: fmt.Sprintf("Error: -format=%s is not a graph format; use dot, mermaid or svg.", format)}
}
