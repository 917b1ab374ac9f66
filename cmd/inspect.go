package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/views"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// readState reads the current workspace's state without locking (readers
// never see a half-written state).
func readState(ctx context.Context, g *globalOptions) (*state.State, string, error) {
	store, ws, err := openStore(g.dir())
	if err != nil {
		return nil, "", err
	}
	defer closeStore(store)
	st, err := store.Read(ctx)
	return st, ws, err
}

func newShowCommand(app *App, g *globalOptions) *cobra.Command {
	var asJSON, verbose, markdown bool
	c := &cobra.Command{
		Use:   "show [PLANFILE]",
		Short: "Show the state, or a saved plan",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if markdown {
				return showMarkdown(app, g, args, asJSON)
			}
			if len(args) == 1 {
				plan, err := readPlanFile(g.path(args[0]))
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(app.Stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(plan)
				}
				views.RenderPlan(app.Stdout, plan, views.PlanOptions{Style: views.Style{Color: g.color(app)}, Verbose: verbose})
				return nil
			}
			st, ws, err := readState(cmd.Context(), g)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return showState(app.Stdout, st, ws)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&verbose, "verbose", false, "with a plan: also list steps that are up to date or skipped")
	c.Flags().BoolVar(&markdown, "markdown", false, "with a plan: print a Markdown summary to paste into a pull request")
	return c
}

func showState(w io.Writer, st *state.State, ws string) error {
	if len(st.Instances) == 0 {
		fmt.Fprintf(w, "The state of workspace %q is empty.\n", ws)
		return nil
	}
	fmt.Fprintf(w, "Workspace %q, serial %d, last run %d.\n\n", ws, st.Serial, st.RunNumber)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tSTATUS\tRUN\tDURATION\tFINISHED")
	for _, addr := range sortedAddrs(st) {
		in := st.Instances[addr]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", addr, in.Status, in.Run, in.Duration().Round(time.Millisecond), in.Finished.Local().Format(time.DateTime))
	}
	tw.Flush()
	if len(st.Outputs) > 0 {
		fmt.Fprintln(w, "\nOutputs:")
		names := make([]string, 0, len(st.Outputs))
		for n := range st.Outputs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %s = %s\n", n, storedOutputDisplay(st.Outputs[n]))
		}
	}
	return nil
}

func sortedAddrs(st *state.State) []string {
	addrs := make([]string, 0, len(st.Instances))
	for a := range st.Instances {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	return addrs
}

func storedOutputDisplay(o state.Output) string {
	if o.Sensitive {
		return "(sensitive value)"
	}
	return string(o.Value)
}

// writeOutputs prints output values after an apply.
func writeOutputs(w io.Writer, p *config.Pipeline, vals map[string]cty.Value) {
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := vals[n]
		if config.HasSensitive(v) || (p.Outputs[n] != nil && p.Outputs[n].Sensitive) {
			fmt.Fprintf(w, "  %s = (sensitive value)\n", n)
			continue
		}
		fmt.Fprintf(w, "  %s = %s\n", n, displayValue(v))
	}
}

func displayValue(v cty.Value) string {
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		return "(known after apply)"
	}
	if v.IsNull() {
		return "null"
	}
	if v.Type() == cty.String {
		s := v.AsString()
		if strings.Contains(s, "\n") {
			return "<<EOT\n" + s + "EOT"
		}
		return fmt.Sprintf("%q", s)
	}
	b, err := jsonValue(v)
	if err != nil {
		return v.GoString()
	}
	return string(b)
}

func newStateCommand(app *App, g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "state",
		Short: "Inspect and edit the state: list, show, rm, mv",
	}
	var lo lockOptions
	list := &cobra.Command{
		Use:   "list [ADDR...]",
		Short: "List the step instances recorded in the state (only those at ADDR, if given)",
		RunE: func(cmd *cobra.Command, args []string) error {
			addrs, err := canonicalAddrs(args)
			if err != nil {
				return err
			}
			st, _, err := readState(cmd.Context(), g)
			if err != nil {
				return err
			}
			if len(addrs) == 0 {
				addrs = sortedAddrs(st)
			}
			for _, a := range addrs {
				for _, m := range instancesOf(st, a) {
					fmt.Fprintln(app.Stdout, m)
				}
			}
			return nil
		},
	}
	show := newStateShowCommand(app, g)
	rm := &cobra.Command{
		Use:   "rm ADDR...",
		Short: "Forget step instances without deleting anything they created",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addrs, err := canonicalAddrs(args)
			if err != nil {
				return err
			}
			return editState(cmd.Context(), g, &lo, "state rm", func(st *state.State) error {
				var removed []string
				for _, a := range addrs {
					matched := instancesOf(st, a)
					if len(matched) == 0 {
						return notInState(a, st)
					}
					for _, m := range matched {
						delete(st.Instances, m)
						removed = append(removed, m)
					}
				}
				for _, m := range removed {
					fmt.Fprintf(app.Stdout, "Removed %s\n", m)
				}
				return nil
			})
		},
	}
	mv := &cobra.Command{
		Use:   "mv SRC DST",
		Short: "Move a record to another address (after renaming a step)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := canonicalAddr(args[0])
			if err != nil {
				return err
			}
			dst, err := canonicalAddr(args[1])
			if err != nil {
				return err
			}
			return editState(cmd.Context(), g, &lo, "state mv", func(st *state.State) error {
				return moveRecords(app, st, src, dst)
			})
		},
	}
	lo.register(rm.Flags())
	lo.register(mv.Flags())
	c.AddCommand(list, show, rm, mv, newStateMigrateCommand(app, g))
	return c
}

// newStateShowCommand is `state show ADDR`.
func newStateShowCommand(app *App, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "show ADDR",
		Short: "Show everything recorded for one step instance",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, _, err := readState(cmd.Context(), g)
			if err != nil {
				return err
			}
			in, ok := st.Instances[args[0]]
			if !ok {
				return notInState(args[0], st)
			}
			enc := json.NewEncoder(app.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(in)
		},
	}
}

// canonicalAddrs is canonicalAddr of each argument.
func canonicalAddrs(args []string) ([]string, error) {
	addrs := make([]string, len(args))
	for i, a := range args {
		var err error
		if addrs[i], err = canonicalAddr(a); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// canonicalAddr checks an address given on the command line and writes it
// as the state does.
func canonicalAddr(s string) (string, error) {
	step, key, err := config.ParseInstanceAddr(s)
	if err != nil {
		return "", &exitError{code: 1, msg: "Error: " + err.Error()}
	}
	return config.InstanceAddr(step, key), nil
}

// moveRecords moves the record at src to dst; the address of a step with
// for_each moves all its instances, keeping their keys.
func moveRecords(app *App, st *state.State, src, dst string) error {
	matched := instancesOf(st, src)
	if len(matched) == 0 {
		return notInState(src, st)
	}
	if matched[0] != src && strings.HasSuffix(dst, "]") {
		return fmt.Errorf("%s stands for %d instances; move them to a step address without a key, or move one instance at a time", src, len(matched))
	}
	moves := map[string]string{}
	for _, m := range matched {
		to := dst + m[len(src):]
		if _, taken := st.Instances[to]; taken {
			return fmt.Errorf("%s already has a record; remove it first with `ansflow state rm %s`", to, to)
		}
		in := st.Instances[m]
		if typ, _, _ := strings.Cut(to, "."); typ != in.Type {
			return fmt.Errorf("cannot move a %s record to %s: the step type must stay the same", in.Type, to)
		}
		moves[m] = to
	}
	for _, m := range matched {
		in := st.Instances[m]
		delete(st.Instances, m)
		in.Addr = moves[m]
		st.Instances[in.Addr] = in
	}
	for _, other := range st.Instances {
		for i, d := range other.Dependencies {
			if d == src {
				other.Dependencies[i] = dst
			} else if to, ok := moves[d]; ok {
				other.Dependencies[i] = to
			}
		}
	}
	for _, m := range matched {
		fmt.Fprintf(app.Stdout, "Moved %s to %s\n", m, moves[m])
	}
	return nil
}

// instancesOf is the record at addr, or, for the address of a step with
// for_each, the records of all its instances.
func instancesOf(st *state.State, addr string) []string {
	if _, ok := st.Instances[addr]; ok {
		return []string{addr}
	}
	var out []string
	for _, a := range sortedAddrs(st) {
		if strings.HasPrefix(a, addr+"[") {
			out = append(out, a)
		}
	}
	return out
}

func notInState(addr string, st *state.State) error {
	return fmt.Errorf("%s is not in the state; `ansflow state list` shows what is (%d records)", addr, len(st.Instances))
}

// editState locks, reads, edits and writes the state.
func editState(ctx context.Context, g *globalOptions, lo *lockOptions, op string, edit func(*state.State) error) error {
	store, _, err := openStore(g.dir())
	if err != nil {
		return err
	}
	defer closeStore(store)
	lock, err := lo.lock(ctx, store, op)
	if err != nil {
		return lockError(err)
	}
	defer lock.Unlock()
	st, err := readLocked(ctx, store)
	if err != nil {
		return err
	}
	if err := edit(st); err != nil {
		return err
	}
	return store.Write(ctx, st)
}

func newHistoryCommand(app *App, g *globalOptions) *cobra.Command {
	var asJSON, withStats bool
	var limit int
	c := &cobra.Command{
		Use:   "history",
		Short: "List past applies of this workspace",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, ws, err := readState(cmd.Context(), g)
			if err != nil {
				return err
			}
			if withStats {
				return historyStats(app, g, st, limit, asJSON)
			}
			runs := st.Runs
			if limit > 0 && len(runs) > limit {
				runs = runs[len(runs)-limit:]
			}
			if asJSON {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(runs)
			}
			if len(runs) == 0 {
				fmt.Fprintf(app.Stdout, "No runs yet in workspace %q.\n", ws)
				return nil
			}
			tw := tabwriter.NewWriter(app.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tOPERATION\tSTARTED\tDURATION\tCREATED\tUPDATED\tRAN\tDESTROYED\tFAILED\tRESULT\tUSER")
			for i := len(runs) - 1; i >= 0; i-- {
				r := runs[i]
				d := "-"
				if !r.Finished.IsZero() {
					d = r.Finished.Sub(r.Started).Round(time.Millisecond).String()
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", r.Number, r.Operation,
					r.Started.Local().Format(time.DateTime), d, r.Created, r.Updated, r.Ran, r.Deleted, r.Failed, r.Result, r.User)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return writeApprovals(app.Stdout, st)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().IntVar(&limit, "limit", 0, "show only the last `N` runs")
	c.Flags().BoolVar(&withStats, "stats", false, "per step over the last runs (-limit, default 20): success rate, p50/p95 duration, passes after a retry")
	return c
}

func newWorkspaceCommand(app *App, g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "workspace",
		Short: "Manage workspaces: independent states of one pipeline (e.g. dev, prod)",
	}
	var force bool
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a workspace's state (it must be empty, or -force)", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := state.DeleteWorkspace(g.dir(), args[0], force); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "Deleted workspace %q.\n", args[0])
			return nil
		},
	}
	del.Flags().BoolVar(&force, "force", false, "delete even if the state still records steps")
	c.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List workspaces; * marks the current one", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				cur, err := state.CurrentWorkspace(g.dir())
				if err != nil {
					return err
				}
				names, err := state.ListWorkspaces(g.dir())
				if err != nil {
					return err
				}
				for _, n := range names {
					mark := " "
					if n == cur {
						mark = "*"
					}
					fmt.Fprintf(app.Stdout, "%s %s\n", mark, n)
				}
				return nil
			},
		},
		&cobra.Command{
			Use: "show", Short: "Print the current workspace", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				cur, err := state.CurrentWorkspace(g.dir())
				if err != nil {
					return err
				}
				fmt.Fprintln(app.Stdout, cur)
				return nil
			},
		},
		&cobra.Command{
			Use: "new NAME", Short: "Create a workspace and select it", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, args []string) error {
				if err := state.NewWorkspace(g.dir(), args[0]); err != nil {
					return err
				}
				if err := state.SelectWorkspace(g.dir(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "Created and switched to workspace %q.\n", args[0])
				return nil
			},
		},
		&cobra.Command{
			Use: "select NAME", Short: "Switch to a workspace", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, args []string) error {
				if err := state.SelectWorkspace(g.dir(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "Switched to workspace %q.\n", args[0])
				return nil
			},
		},
		del,
	)
	return c
}

func newForceUnlockCommand(app *App, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "force-unlock ID",
		Short: "Remove a state lock left by a run that is gone",
		Long: `Removes the lock whose ID a failed lock attempt printed. Only do this when the
run holding it is really gone: two applies at once can corrupt what they manage.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, _, err := openStore(g.dir())
			if err != nil {
				return err
			}
			defer closeStore(store)
			if err := store.ForceUnlock(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "The lock %s was removed.\n", args[0])
			return nil
		},
	}
}

func jsonValue(v cty.Value) ([]byte, error) {
	return ctyjson.Marshal(v, v.Type())
}
