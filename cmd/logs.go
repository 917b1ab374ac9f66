package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/agext/levenshtein"
	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/state"
	"github.com/spf13/cobra"
)

func newLogsCommand(app *App, g *globalOptions) *cobra.Command {
	var run int
	var stderr, follow bool
	c := &cobra.Command{
		Use:   "logs ADDR",
		Short: "Print a step's stored stdout (or -stderr) from its last run or from -run=N",
		Long: `Prints what a step wrote to standard output (or -stderr) in its last run, or
in run N with -run=N (see 'ansflow history'). While an apply runs, the run in
progress is shown for the steps it has started; -follow keeps printing as the
log grows and ends when that run ends.`,
		Args: exactArgs(1, "ADDR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			stream := "stdout"
			if stderr {
				stream = "stderr"
			}
			return runLogs(cmd.Context(), app, g, args[0], run, stream, follow)
		},
	}
	c.Flags().IntVar(&run, "run", 0, "show the log of run `N` (default: the run in progress, else the step's last run)")
	c.Flags().BoolVar(&stderr, "stderr", false, "show standard error instead of standard output")
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing as the log grows, until its run ends (Ctrl-C to stop)")
	return c
}

// logSource finds the logs of one workspace.
type logSource struct {
	dir, ws string
	store   state.Store
	st      *state.State // for the names instances had before a moved block; may be nil
}

// path is the log of addr in run, under the address the instance had then.
func (s logSource) path(run int, addr, stream string) string {
	if s.st != nil {
		addr = s.st.NameIn(addr, run)
	}
	return filepath.Join(engine.LogDir(s.dir, s.ws, run), engine.LogFileName(addr, stream))
}

// logged reports whether run wrote any log of addr.
func (s logSource) logged(run int, addr string) bool {
	for _, stream := range []string{"stdout", "stderr"} {
		if _, err := os.Stat(s.path(run, addr, stream)); err == nil {
			return true
		}
	}
	return false
}

// inProgress is the run still going on, or 0 (a run killed without a trace
// stays "running" until the next command that takes the lock ends it).
func inProgress(st *state.State) int {
	if n := len(st.Runs); n > 0 && st.Runs[n-1].Result == "running" {
		return st.Runs[n-1].Number
	}
	return 0
}

func runLogs(ctx context.Context, app *App, g *globalOptions, addr string, run int, stream string, follow bool) error {
	if _, _, err := config.ParseInstanceAddr(addr); err != nil {
		return &exitError{code: 1, msg: "Error: " + err.Error()}
	}
	store, ws, err := openStore(g.dir())
	if err != nil {
		return err
	}
	defer closeStore(store)
	st, err := store.Read(ctx)
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(g.dir())
	src := logSource{dir: abs, ws: ws, store: store, st: st}
	n, err := pickRun(st, src, addr, run, follow)
	if err != nil {
		return &exitError{code: 1, msg: "Error: " + err.Error()}
	}
	running := func() bool { return false }
	if follow {
		running = func() bool {
			now, err := store.Read(ctx)
			return err == nil && inProgress(now) == n
		}
	}
	found, err := printLog(ctx, app.Stdout, src.path(n, addr, stream), follow, running)
	if err == nil && !found && follow && ctx.Err() == nil {
		if in, ok := st.Instances[addr]; ok && in.Run != n {
			fmt.Fprintf(app.Stderr, "%s wrote nothing to %s in run %d (it may not have run); its last recorded run is %d: ansflow logs %s -run=%d\n", addr, stream, n, in.Run, addr, in.Run)
		}
	}
	return err
}

// pickRun decides which run's log to show and refuses unknown steps and runs.
func pickRun(st *state.State, src logSource, addr string, run int, follow bool) (int, error) {
	in, recorded := st.Instances[addr]
	cur := inProgress(st)
	if run != 0 {
		if !hasRun(st, run) {
			return 0, fmt.Errorf("there is no run %d in workspace %q; `ansflow history` lists the runs (last: %d)", run, src.ws, st.RunNumber)
		}
		if !recorded && !src.logged(run, addr) && !(follow && run == cur) {
			return 0, noSuchStep(st, addr, fmt.Sprintf("run %d logged nothing for it and the state has no record of it", run))
		}
		return run, nil
	}
	if cur != 0 && (follow || src.logged(cur, addr)) {
		return cur, nil
	}
	if !recorded {
		return 0, noSuchStep(st, addr, "the state has no record of it")
	}
	return in.Run, nil
}

func hasRun(st *state.State, n int) bool {
	for _, r := range st.Runs {
		if r.Number == n {
			return true
		}
	}
	return false
}

// noSuchStep names the instances of a step with for_each, or the closest
// recorded address.
func noSuchStep(st *state.State, addr, why string) error {
	var instances []string
	for a := range st.Instances {
		if strings.HasPrefix(a, addr+"[") {
			instances = append(instances, a)
		}
	}
	sort.Strings(instances)
	if len(instances) > 0 {
		return fmt.Errorf("no such step instance: %s has for_each; name one of its instances: %s", addr, strings.Join(instances, ", "))
	}
	hint := "`ansflow state list` lists the recorded steps"
	if to := st.NameNow(addr, 0); to != addr {
		return fmt.Errorf("no such step: %s has moved to %s (a moved block); run: ansflow logs %s", addr, to, to)
	}
	if s := closestAddr(addr, st); s != "" {
		hint = fmt.Sprintf("did you mean %s? (%s)", s, hint)
	}
	return fmt.Errorf("no such step: %s (%s); %s", addr, why, hint)
}

func closestAddr(addr string, st *state.State) string {
	best, bestDist := "", 4
	var cands []string
	for _, a := range sortedAddrs(st) {
		if pa, err := config.ParseAddr(a, false); err == nil && pa.Key.Valid {
			cands = append(cands, pa.StepAddr())
		}
		cands = append(cands, a)
	}
	for _, a := range cands {
		if d := levenshtein.Distance(addr, a, nil); d < bestDist {
			best, bestDist = a, d
		}
	}
	return best
}

// printLog copies the log at path to w. With follow it keeps copying what
// is appended (and waits for the file to appear) while running reports true.
// found reports whether the file existed.
func printLog(ctx context.Context, w io.Writer, path string, follow bool, running func() bool) (found bool, err error) {
	const poll = 200 * time.Millisecond
	f, err := os.Open(path)
	for errors.Is(err, os.ErrNotExist) && follow && running() {
		if !sleepCtx(ctx, poll) {
			return false, nil
		}
		f, err = os.Open(path)
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // the step wrote nothing to this stream
	}
	if err != nil {
		return false, fmt.Errorf("reading the log: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil || !follow {
		return true, err
	}
	for running() {
		if !sleepCtx(ctx, poll) {
			return true, nil
		}
		if _, err := io.Copy(w, f); err != nil {
			return true, err
		}
	}
	_, err = io.Copy(w, f) // what was written before the run ended
	return true, err
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
