package cmd

import (
	"fmt"

	"github.com/ansflow/ansflow/state"
	"github.com/spf13/cobra"
)

func newWorkspaceCommand(app *App, g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "workspace",
		Short: "Manage workspaces: independent states of one pipeline (e.g. dev, prod)",
	}
	var force bool
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a workspace's state (it must be empty, or -force)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, done, err := workspaceStore(g.dir(), args[0])
			if err != nil {
				return err
			}
			defer done()
			if err := state.DeleteWorkspaceIn(cmd.Context(), g.dir(), s, force); err != nil {
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
			RunE: func(cmd *cobra.Command, _ []string) error {
				return listWorkspaces(cmd.Context(), app, g.dir())
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
			RunE: func(cmd *cobra.Command, args []string) error {
				s, done, err := workspaceStore(g.dir(), args[0])
				if err != nil {
					return err
				}
				defer done()
				if err := state.NewWorkspaceIn(cmd.Context(), s); err != nil {
					return err
				}
				if err := state.SelectWorkspaceIn(cmd.Context(), g.dir(), s); err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "Created and switched to workspace %q.\n", args[0])
				return nil
			},
		},
		&cobra.Command{
			Use: "select NAME", Short: "Switch to a workspace", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				s, done, err := workspaceStore(g.dir(), args[0])
				if err != nil {
					return err
				}
				defer done()
				if err := state.SelectWorkspaceIn(cmd.Context(), g.dir(), s); err != nil {
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
