package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
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
	for _, n := range slices.Sorted(maps.Keys(vals)) {
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

func jsonValue(v cty.Value) ([]byte, error) {
	return ctyjson.Marshal(v, v.Type())
}
