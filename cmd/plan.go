package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/views"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/internal/safefile"
)

// planOptions are the flags shared by plan, apply and destroy.
type planOptions struct {
	vars        varFlags
	lock        lockOptions
	targets     []string
	replace     []string
	refresh     bool
	json        bool
	verbose     bool
	parallelism int
}

func (o *planOptions) register(fs *pflag.FlagSet) {
	o.vars.register(fs)
	o.lock.register(fs)
	fs.StringArrayVar(&o.targets, "target", nil, "limit to `ADDR` and what it depends on (repeatable)")
	fs.StringArrayVar(&o.replace, "replace", nil, "force `ADDR` to be replaced or run again (repeatable)")
	fs.BoolVar(&o.refresh, "refresh", true, "read the real objects first, so drift shows in the plan")
	fs.BoolVar(&o.json, "json", false, "print machine-readable JSON lines (see docs/json-events.md)")
	fs.BoolVar(&o.verbose, "verbose", false, "also list the steps that are up to date or skipped")
	fs.IntVar(&o.parallelism, "parallelism", 10, "run at most `N` steps at once")
}

func (o *planOptions) engineOptions(destroy bool) engine.Options {
	return engine.Options{Targets: o.targets, Replace: o.replace, Refresh: o.refresh, Destroy: destroy, Parallelism: o.parallelism}
}

func newPlanCommand(app *App, g *globalOptions) *cobra.Command {
	o := &planOptions{}
	var out string
	var destroy, detailed bool
	c := &cobra.Command{
		Use:   "plan [flags]",
		Short: "Show what apply would create, update, replace, destroy or run, and why",
		Long: `Evaluates the pipeline against the stored state and shows, for every step
that would do something, what and why. With -out the plan is saved and
'ansflow apply FILE' applies exactly it, and refuses it before anything runs
if the state, the files or any value it read changed (docs/plans.md).

Exit codes: 0 success, 1 error; with -detailed-exitcode, 2 means there are changes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPlan(cmd.Context(), app, g, o, out, destroy, detailed)
		},
	}
	o.register(c.Flags())
	c.Flags().StringVar(&out, "out", "", "save the plan to `FILE`")
	c.Flags().BoolVar(&destroy, "destroy", false, "plan to destroy everything in the state")
	c.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when the plan has changes, 0 when it has none")
	return c
}

// planned is a plan with everything needed to apply it.
type planned struct {
	p      *config.Pipeline
	vars   map[string]cty.Value
	store  state.Store
	lock   *state.Lock
	st     *state.State
	eng    *engine.Engine
	plan   *engine.Plan
	closer func()
}

// makePlan loads, locks, reads the state and plans. The caller must call closer.
func makePlan(ctx context.Context, app *App, g *globalOptions, o *planOptions, destroy bool, op string) (*planned, error) {
	p, vars, err := load(app, g, &o.vars)
	if err != nil {
		return nil, err
	}
	store, ws, err := openPipelineStore(g.dir(), p)
	if err != nil {
		return nil, err
	}
	lock, err := o.lock.lock(ctx, store, op)
	if err != nil {
		closeStore(store)
		return nil, lockError(err)
	}
	res := &planned{p: p, vars: vars, store: store, lock: lock}
	res.closer = func() {
		_ = lock.Unlock()
		closeStore(store)
	}
	st, err := readLocked(ctx, store)
	if err != nil {
		res.closer()
		return nil, err
	}
	res.st = st
	eng, err := newEngine(app, g.dir(), ws, store)
	if err != nil {
		res.closer()
		return nil, err
	}
	res.eng = eng
	plan, diags := eng.Plan(ctx, p, st, vars, o.engineOptions(destroy))
	if err := diagsError(app, g, p, diags); err != nil {
		res.closer()
		return nil, err
	}
	views.ExplainPlan(plan)
	res.plan = plan
	return res, nil
}

func closeStore(s state.Store) {
	if c, ok := s.(io.Closer); ok {
		_ = c.Close()
	}
}

func runPlan(ctx context.Context, app *App, g *globalOptions, o *planOptions, out string, destroy, detailed bool) error {
	began := time.Now()
	pl, err := makePlan(ctx, app, g, o, destroy, "plan")
	if err != nil {
		return err
	}
	defer pl.closer()
	if o.json {
		views.NewJSON(app.Stdout).Plan(pl.plan)
	} else {
		views.RenderPlan(app.Stdout, pl.plan, views.PlanOptions{Style: views.Style{Color: g.color(app)}, Verbose: o.verbose})
		writeApprovalNotes(app.Stdout, pl)
	}
	tracePlan(ctx, app, pl, began, o.json)
	if out != "" {
		if err := writePlanFile(g.path(out), pl.plan); err != nil {
			return err
		}
		if !o.json {
			fmt.Fprintf(app.Stdout, "\nSaved the plan to %s. To carry out exactly these actions, run:\n  ansflow apply %s\n", out, out)
		}
	}
	if detailed && pl.plan.HasChanges() {
		return exitCode(2)
	}
	return nil
}

// writePlanFile saves a plan atomically, readable only by its owner.
func writePlanFile(path string, p *engine.Plan) error {
	data, err := engine.EncodePlan(p)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ansflow-plan-*")
	if err != nil {
		return planSaveError(path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the plan: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// planSaveError says why a plan could not be saved, naming the user's path
// rather than the temporary file.
func planSaveError(path string, err error) error {
	dir := filepath.Dir(path)
	if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
		return &exitError{code: 1, msg: fmt.Sprintf("Error: cannot save the plan to %s: the directory %s does not exist; create it first or choose another -out", path, dir)}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &exitError{code: 1, msg: fmt.Sprintf("Error: cannot save the plan to %s: %v", path, err)}
}

// readPlanFile loads a saved plan.
func readPlanFile(path string) (*engine.Plan, error) {
	data, _, err := safefile.Read(path, safefile.PlanLimit)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read the plan file %s: %v", path, err)
	}
	return engine.DecodePlan(path, data)
}
