package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/views"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type applyOptions struct {
	planOptions
	autoApprove bool
}

func newApplyCommand(app *App, g *globalOptions, destroy bool) *cobra.Command {
	o := &applyOptions{}
	c := &cobra.Command{
		Use:   "apply [PLANFILE] [flags]",
		Short: "Create, update, run and delete steps to match the pipeline",
		Long: `Plans (or reads a saved plan), asks for approval, then walks the step graph in
parallel. Every finished step is recorded in the state at once, so an
interrupted or failed apply resumes where it stopped.

On a terminal, the running steps are shown live with their elapsed time and
last line of output. Elsewhere (CI logs, pipes) each step gets plain lines:
"Running...", "Still running... [10s elapsed]" every 10 seconds
(ANSFLOW_PROGRESS_INTERVAL=DURATION changes that), "Ran after 31s".
-json writes one JSON event per line instead (docs/json-events.md).

Without a terminal, apply needs -auto-approve or a saved plan file.
A step with an approval block stops the apply: everything that does not
depend on it runs, then apply exits with code 3 until ` + "`ansflow approve ADDR`" + `.
Ctrl-C once: no new steps start, running ones finish and are recorded.
Ctrl-C twice: running steps are cancelled.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			planFile := ""
			if len(args) == 1 {
				planFile = args[0]
			}
			return runApply(cmd.Context(), app, g, o, planFile, destroy)
		},
	}
	if destroy {
		c.Use = "destroy [flags]"
		c.Short = "Delete everything ansflow created in this workspace"
		c.Long = `Deletes every object recorded in the state, dependents first, and forgets the
records of run-to-completion steps. Asks for approval unless -auto-approve.`
		c.Args = cobra.NoArgs
	}
	o.register(c.Flags())
	c.Flags().BoolVar(&o.autoApprove, "auto-approve", false, "do not ask for approval")
	return c
}

func runApply(ctx context.Context, app *App, g *globalOptions, o *applyOptions, planFile string, destroy bool) error {
	pl, err := applyPlan(ctx, app, g, o, planFile, destroy)
	if err != nil {
		return err
	}
	defer pl.closer()
	style := views.Style{Color: g.color(app), Schemas: pl.p.Schemas}
	jsonView := showApplyPlan(app, g, o, pl, planFile, style)
	if !pl.plan.HasChanges() {
		if jsonView != nil {
			jsonView.Outputs(jsonOutputs(pl.st))
		} else {
			fmt.Fprintln(app.Stdout, "\nNothing to do.")
		}
		return nil
	}
	if planFile == "" && !o.autoApprove {
		if err := approve(app, destroy); err != nil {
			return err
		}
	}

	ctx, stop, release := interrupts(ctx, app.Stderr)
	defer release()
	progress, err := watchApply(app, pl, jsonView, style)
	if err != nil {
		return err
	}
	if progress != nil {
		defer progress.Close()
	}
	record := startRunRecord(ctx, app, pl, destroy)
	pl.eng.Observer = record.observe(pl.eng.Observer)
	res, diags := pl.eng.Apply(ctx, engine.ApplyOptions{Pipeline: pl.p, State: pl.st, Plan: pl.plan, Vars: pl.vars, Parallelism: o.parallelism, Stop: stop})
	record.finish(res)
	if progress != nil {
		progress.Close()
	}
	nameStalePlan(diags, planFile)
	if res == nil {
		if jsonView != nil {
			jsonView.Diagnostics(diags)
			return exitCode(1)
		}
		return diagsError(app, g, pl.p, diags)
	}
	showApplyResult(app, g, pl, jsonView, res, diags, style, destroy)
	sendNotifications(ctx, app, g, pl, res, app.Stderr)
	record.printTraceID(o.json)
	out := app.Stdout
	if jsonView != nil {
		out = app.Stderr
	}
	if err := reportWaiting(out, res, diags.HasErrors()); err != nil {
		return err
	}
	if !res.OK() || diags.HasErrors() {
		return exitCode(1)
	}
	return nil
}

// applyPlan reads the saved plan, or plans now.
func applyPlan(ctx context.Context, app *App, g *globalOptions, o *applyOptions, planFile string, destroy bool) (*planned, error) {
	if planFile != "" {
		return loadSavedPlan(ctx, app, g, o, planFile)
	}
	op := "apply"
	if destroy {
		op = "destroy"
	}
	return makePlan(ctx, app, g, &o.planOptions, destroy, op)
}

// showApplyPlan shows the plan about to be applied: as JSON events with
// -json (then it returns the JSON view for the rest of the apply), else in
// full unless it was saved (and so shown already).
func showApplyPlan(app *App, g *globalOptions, o *applyOptions, pl *planned, planFile string, style views.Style) *views.JSON {
	if o.json {
		jsonView := views.NewJSON(app.Stdout)
		jsonView.Plan(pl.plan)
		return jsonView
	}
	if planFile == "" {
		views.RenderPlan(app.Stdout, pl.plan, views.PlanOptions{Style: style, Verbose: o.verbose})
		writeApprovalNotes(app.Stdout, pl)
	}
	return nil
}

// watchApply points the engine's events at the JSON view, or at a new
// progress view for people (returned; the caller closes it).
func watchApply(app *App, pl *planned, jsonView *views.JSON, style views.Style) (progressView, error) {
	if jsonView != nil {
		pl.eng.Observer = jsonView.Event
		return nil, nil
	}
	fmt.Fprintln(app.Stdout)
	progress, err := newProgressView(app, style)
	if err != nil {
		return nil, err
	}
	pl.eng.Observer = progress.Event
	return progress, nil
}

// nameStalePlan says in a stale plan's diagnostic which plan is stale: the
// one just shown or the saved file.
func nameStalePlan(diags hcl.Diagnostics, planFile string) {
	for _, d := range diags {
		if errors.Is(engine.DiagnosticError(d), engine.ErrStalePlan) {
			d.Summary = "The plan shown is stale"
			if planFile != "" {
				d.Summary = "Saved plan " + planFile + " is stale"
			}
		}
	}
}

// showApplyResult reports the apply's diagnostics, summary and outputs.
func showApplyResult(app *App, g *globalOptions, pl *planned, jsonView *views.JSON, res *engine.ApplyResult, diags hcl.Diagnostics, style views.Style, destroy bool) {
	if jsonView != nil {
		jsonView.Diagnostics(diags)
		jsonView.ApplySummary(res, destroy)
		jsonView.Outputs(jsonOutputs(pl.st))
		return
	}
	printDiags(app, g, pl.p, diags)
	views.RenderApplySummary(app.Stdout, res, style, destroy)
	if len(res.Outputs) > 0 && res.OK() {
		fmt.Fprintln(app.Stdout, "\nOutputs:")
		writeOutputs(app.Stdout, pl.p, res.Outputs)
	}
}

// progressView renders apply events for people; Close stops its timers and
// must return before anything else is written.
type progressView interface {
	Event(engine.Event)
	Close()
}

// progressIntervalEnv sets how often the plain view repeats "Still
// running... [10s elapsed]" for a running step (a Go duration; default 10s).
const progressIntervalEnv = "ANSFLOW_PROGRESS_INTERVAL"

// newProgressView picks the live view on a terminal and plain lines
// everywhere else (CI logs, pipes, files).
func newProgressView(app *App, style views.Style) (progressView, error) {
	if app.IsTerminal && app.getenv("TERM") != "dumb" {
		return views.NewLive(app.Stdout, style, terminalWidth(app.Stdout), 0), nil
	}
	interval := 10 * time.Second
	if v := app.getenv(progressIntervalEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, &exitError{code: 1, msg: fmt.Sprintf("Error: %s=%q is not a positive duration; use a value like 10s or 500ms, or unset it.", progressIntervalEnv, v)}
		}
		interval = d
	}
	return views.NewProgress(app.Stdout, style, interval), nil
}

// terminalWidth is the width of w when it is a terminal, else 0.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

// approve asks on the terminal; without one it refuses.
func approve(app *App, destroy bool) error {
	if !app.IsTerminal {
		if destroy {
			return &exitError{code: 1, msg: "Error: destroy needs approval, and there is no terminal to ask on.\nRun it with -auto-approve, or save a plan with `ansflow plan -destroy -out=FILE`, review it, and run `ansflow apply FILE`."}
		}
		return &exitError{code: 1, msg: "Error: apply needs approval, and there is no terminal to ask on.\nRun it with -auto-approve, or save a plan with `ansflow plan -out=FILE`, review it, and run `ansflow apply FILE`."}
	}
	what := "perform these actions"
	if destroy {
		what = "destroy everything listed above"
	}
	fmt.Fprintf(app.Stdout, "\nDo you want to %s?\n  Only 'yes' will be accepted.\n\n  Enter a value: ", what)
	line, err := bufio.NewReader(app.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return &exitError{code: 1, msg: "Error: no answer; nothing was changed."}
	}
	if strings.TrimSpace(line) != "yes" {
		if destroy {
			return &exitError{code: 1, msg: "Destroy cancelled; nothing was changed."}
		}
		return &exitError{code: 1, msg: "Apply cancelled; nothing was changed."}
	}
	return nil
}

// loadSavedPlan reads a plan file and checks it still fits the pipeline
// files and the state.
func loadSavedPlan(ctx context.Context, app *App, g *globalOptions, o *applyOptions, planFile string) (*planned, error) {
	if len(o.vars.args) > 0 || len(o.targets) > 0 || len(o.replace) > 0 {
		return nil, &exitError{code: 1, msg: "Error: a saved plan already fixes variables, -target and -replace; make a new plan to change them."}
	}
	plan, err := readPlanFile(g.path(planFile))
	if err != nil {
		return nil, err
	}
	p, diags := loadConfig(g.dir())
	if err := diagsError(app, g, p, diags); err != nil {
		return nil, err
	}
	if err := plan.CheckSources(p); err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("Error: the saved plan %s is stale: %v. Make a new plan.", planFile, err)}
	}
	fresh, vdiags := p.ResolveVariables(config.VarInputs{Environ: app.Environ})
	_ = vdiags // sensitive values may legitimately be missing here; checked below
	vars, err := plan.VariablesFromPlan(fresh, func(name string) bool {
		v := p.Variables[name]
		return v != nil && v.Sensitive
	})
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("Error: %s: %v", planFile, err)}
	}
	for name := range p.Variables {
		if _, ok := vars[name]; !ok {
			return nil, &exitError{code: 1, msg: fmt.Sprintf("Error: %s has no value for variable %q although the pipeline declares it; the file was changed or damaged. Make a new plan.", planFile, name)}
		}
	}
	store, ws, err := openPipelineStore(g.dir(), p)
	if err != nil {
		return nil, err
	}
	if ws != plan.Workspace {
		closeStore(store)
		return nil, &exitError{code: 1, msg: fmt.Sprintf("Error: %s was made for workspace %q but %q is selected; run `ansflow workspace select %s` first.", planFile, plan.Workspace, ws, plan.Workspace)}
	}
	lock, err := o.lock.lock(ctx, store, "apply")
	if err != nil {
		closeStore(store)
		return nil, lockError(err)
	}
	pl := &planned{p: p, vars: vars, store: store, lock: lock, plan: plan}
	pl.closer = func() {
		_ = lock.Unlock()
		closeStore(store)
	}
	st, err := readLocked(ctx, store)
	if err != nil {
		pl.closer()
		return nil, err
	}
	if err := plan.CheckState(st); err != nil {
		pl.closer()
		return nil, &exitError{code: 1, msg: fmt.Sprintf("Error: the saved plan %s is stale: %v. Make a new plan.", planFile, err)}
	}
	pl.st = st
	pl.eng, err = newEngine(app, g.dir(), ws, store)
	if err != nil {
		pl.closer()
		return nil, err
	}
	return pl, nil
}
