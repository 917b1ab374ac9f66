package cmd

import (
	"fmt"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/graph"
	"github.com/ansflow/ansflow/telemetry"
	"github.com/ansflow/ansflow/views"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"
)

func newValidateCommand(app *App, g *globalOptions) *cobra.Command {
	var asJSON bool
	var vf varFlags
	var checkVars bool
	c := &cobra.Command{
		Use:   "validate [flags]",
		Short: "Check the pipeline files for errors, without touching anything",
		Long: `Parses every *.hcl file of the pipeline directory and checks block and
attribute names, types, references and the dependency graph, then evaluates
every step with what it cannot know yet (variables without -vars, env(), git.*,
run.*, step results) unknown: the types of when and for_each, each.value
attributes, function arguments, empty commands and sources patterns. With -vars it also
resolves the variable values (-var, -var-file, *.auto.vars.hcl, ANSFLOW_VAR_*)
and runs their validation blocks. Exit code 0 when valid, 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, diags := loadConfig(g.dir())
			if !diags.HasErrors() {
				_, gdiags := graph.Build(p)
				diags = append(diags, gdiags...)
				diags = append(diags, telemetry.Validate(p)...)
			}
			var vals map[string]cty.Value
			if !diags.HasErrors() && (checkVars || len(vf.args) > 0) {
				var vdiags hcl.Diagnostics
				vals, vdiags = p.ResolveVariables(config.VarInputs{Args: vf.args, Environ: app.Environ})
				diags = append(diags, vdiags...)
			}
			if !diags.HasErrors() {
				diags = append(diags, config.Check(p, vals)...)
			}
			if asJSON {
				views.NewJSON(app.Stdout).Validate(diags)
				if diags.HasErrors() {
					return exitCode(1)
				}
				return nil
			}
			if err := diagsError(app, g, p, diags); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "Success! The pipeline is valid: %d steps in %d files.\n", p.StepCount(), len(p.Files))
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the result and diagnostics as JSON")
	c.Flags().BoolVar(&checkVars, "vars", false, "also resolve variable values and run their validation blocks")
	vf.register(c.Flags())
	return c
}
