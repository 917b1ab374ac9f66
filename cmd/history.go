package cmd

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

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
