package cmd

import (
	"encoding/json"
	"path/filepath"

	"github.com/ansflow/ansflow/runlog"
	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/stats"
	"github.com/ansflow/ansflow/views"
)

// defaultStatsRuns is how many runs `history -stats` looks at without -limit.
const defaultStatsRuns = 20

// historyStats prints per-step statistics over the last limit runs (0: the
// default), from each run's events file or, for older runs, the state.
func historyStats(app *App, g *globalOptions, st *state.State, limit int, asJSON bool) error {
	if limit <= 0 {
		limit = defaultStatsRuns
	}
	abs, err := filepath.Abs(g.dir())
	if err != nil {
		return err
	}
	sum := stats.Of(runlog.Last(abs, st, limit))
	if asJSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	return views.RenderStats(app.Stdout, sum)
}
