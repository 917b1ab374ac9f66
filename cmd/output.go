package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/views"
	"github.com/spf13/cobra"
)

type outputOptions struct {
	json, raw bool
	vars      varFlags
}

func newOutputCommand(app *App, g *globalOptions) *cobra.Command {
	o := &outputOptions{}
	c := &cobra.Command{
		Use:   "output [NAME]",
		Short: "Print the pipeline's outputs from the last apply",
		Long: `Prints the outputs recorded by the last apply. A sensitive output is hidden in
the list, and printed when asked for by name (output NAME, -raw NAME, -json NAME).
The state keeps only a hash of a sensitive value, so ansflow computes it again
from the pipeline and shows it only when it matches that hash: give the same
variable values as the apply (-var, -var-file, ANSFLOW_VAR_*).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return printOneOutput(cmd.Context(), app, g, o, args[0])
			}
			if o.raw {
				return usageError(cmd, "-raw prints one output: name it, e.g. ansflow output -raw NAME")
			}
			st, _, err := readState(cmd.Context(), g)
			if err != nil {
				return err
			}
			return printAllOutputs(app, st, o.json)
		},
	}
	c.Flags().BoolVar(&o.json, "json", false, "print JSON")
	c.Flags().BoolVar(&o.raw, "raw", false, "print a string output without quotes")
	o.vars.register(c.Flags())
	return c
}

func printAllOutputs(app *App, st *state.State, asJSON bool) error {
	if asJSON {
		out := map[string]any{}
		for n, o := range st.Outputs {
			var v any = json.RawMessage(o.Value)
			if o.Sensitive {
				v = "(sensitive value)"
			}
			out[n] = map[string]any{"value": v, "type": json.RawMessage(o.Type), "sensitive": o.Sensitive}
		}
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	names := make([]string, 0, len(st.Outputs))
	for n := range st.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(app.Stdout, "%s = %s\n", n, storedOutputDisplay(st.Outputs[n]))
	}
	return nil
}

// printOneOutput prints one output, a sensitive one too: asked for by
// name, it is shown (as Terraform does).
func printOneOutput(ctx context.Context, app *App, g *globalOptions, o *outputOptions, name string) error {
	st, _, err := readState(ctx, g)
	if err != nil {
		return err
	}
	rec, ok := st.Outputs[name]
	if !ok {
		return fmt.Errorf("no output named %q; outputs are recorded by apply (see `ansflow output`)", name)
	}
	value := rec.Value
	if rec.Sensitive {
		if value, err = sensitiveOutput(ctx, app, g, o, st, name); err != nil {
			return err
		}
	}
	switch {
	case o.json:
		// The value alone, as Terraform prints it (the list form, output
		// -json, says which outputs are sensitive).
		fmt.Fprintln(app.Stdout, string(value))
	case o.raw:
		var s string
		if json.Unmarshal(value, &s) == nil {
			fmt.Fprint(app.Stdout, s)
			return nil
		}
		fmt.Fprintln(app.Stdout, string(value))
	default:
		fmt.Fprintln(app.Stdout, string(value))
	}
	return nil
}

// sensitiveOutput computes a sensitive output again (the state holds only
// its hash); see engine.SensitiveOutput.
func sensitiveOutput(ctx context.Context, app *App, g *globalOptions, o *outputOptions, st *state.State, name string) (json.RawMessage, error) {
	p, vars, err := load(app, g, &o.vars)
	if err != nil {
		return nil, err
	}
	// The store holds the workspace's key for sensitive hashes.
	store, ws, err := openStore(g.dir())
	if err != nil {
		return nil, err
	}
	defer closeStore(store)
	eng, err := newEngine(app, g.dir(), ws, store)
	if err != nil {
		return nil, err
	}
	v, diags := eng.SensitiveOutput(ctx, p, st, vars, name)
	if err := diagsError(app, g, p, diags); err != nil {
		return nil, err
	}
	return jsonValue(v)
}

// jsonOutputs is the outputs event of apply -json: the outputs the state
// records, sensitive ones hidden.
func jsonOutputs(st *state.State) map[string]views.JSONOutput {
	out := make(map[string]views.JSONOutput, len(st.Outputs))
	for name, o := range st.Outputs {
		jo := views.JSONOutput{Value: o.Value, Type: o.Type, Sensitive: o.Sensitive}
		if o.Sensitive {
			jo.Value, jo.Type = json.RawMessage(`"(sensitive value)"`), nil
		}
		out[name] = jo
	}
	return out
}
