package cmd

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/state"
	"github.com/spf13/cobra"
)

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
				for _, m := range st.InstancesOf(a) {
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
					matched, err := st.RemoveInstance(a)
					if err != nil {
						return err
					}
					removed = append(removed, matched...)
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
				moves, err := st.MoveInstance(src, dst)
				for _, m := range moves {
					fmt.Fprintf(app.Stdout, "Moved %s to %s\n", m.From, m.To)
				}
				return err
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
				return state.NotInState(args[0], st)
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

// canonicalAddr checks an address given on the command line (a step, an
// instance, or a module: everything inside it) and writes it as the state
// does.
func canonicalAddr(s string) (string, error) {
	a, err := config.ParseAddr(s, true)
	if err != nil {
		return "", &exitError{code: 1, msg: "Error: " + err.Error()}
	}
	return a.String(), nil
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
