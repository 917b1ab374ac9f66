package cmd

import (
	"github.com/ansflow/ansflow/graph"
	"github.com/spf13/cobra"
)

func newGraphCommand(app *App, g *globalOptions) *cobra.Command {
	format := "dot"
	c := &cobra.Command{
		Use:   "graph",
		Short: "Print the step dependency graph (Graphviz DOT, Mermaid or SVG)",
		Long: `Prints the steps and the dependencies implied by their references and
depends_on, as DOT (render with: ansflow graph | dot -Tsvg > graph.svg).
An edge points from a step to a step it depends on.
` + graphFormatHelp,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			p, diags := loadConfig(g.dir())
			if diags.HasErrors() {
				return diagsError(app, g, p, diags)
			}
			sg, gdiags := graph.Build(p)
			if err := diagsError(app, g, p, gdiags); err != nil {
				return err
			}
			return writeGraph(app.Stdout, sg.Graph, sg.ModuleGroups(), format)
		},
	}
	c.Flags().StringVar(&format, "format", "dot", "output `FORMAT`: dot, mermaid or svg")
	return c
}
