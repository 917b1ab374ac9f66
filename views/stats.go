package views

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/ansflow/ansflow/stats"
)

// RenderStats writes per-step statistics as a table, for `history -stats`.
func RenderStats(w io.Writer, s stats.Summary) error {
	if len(s.Steps) == 0 {
		_, err := fmt.Fprintf(w, "No step ran in the last %d run(s).\n", s.Runs)
		return err
	}
	fmt.Fprintf(w, "Steps over runs %d to %d (%d runs):\n\n", s.First, s.Last, s.Runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tRUNS\tSUCCESS\tP50\tP95\tFLAKY\tLAST FAILED")
	for _, st := range s.Steps {
		last := "-"
		if st.LastFailed > 0 {
			last = fmt.Sprint(st.LastFailed)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f%%\t%s\t%s\t%d (%.0f%%)\t%s\n", st.Addr, st.Runs, 100*st.SuccessRate(),
			roundDuration(st.P50), roundDuration(st.P95), st.Flaky, 100*st.Flakiness(), last)
	}
	return tw.Flush()
}
