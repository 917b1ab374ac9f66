package cmd

import "github.com/ansflow/ansflow/views"

// showMarkdown is `ansflow show -markdown PLANFILE`: a compact summary of a
// saved plan for a pull request or merge request.
func showMarkdown(app *App, g *globalOptions, args []string, asJSON bool) error {
	if asJSON {
		return &exitError{code: 1, msg: "Error: -markdown and -json cannot be combined; choose one."}
	}
	if len(args) != 1 {
		return &exitError{code: 1, msg: "Error: -markdown summarises a saved plan: save one with `ansflow plan -out=FILE`, then run `ansflow show -markdown FILE`."}
	}
	plan, err := readPlanFile(g.path(args[0]))
	if err != nil {
		return err
	}
	views.RenderMarkdown(app.Stdout, plan)
	return nil
}
