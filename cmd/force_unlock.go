package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
)

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
