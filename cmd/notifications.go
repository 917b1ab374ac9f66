package cmd

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/notify"
	"github.com/zclconf/go-cty/cty"
)

// sendNotifications posts the run's summary to every notify block that
// wants its event, all at once. Failures are warnings on w: a notification
// never changes the result of the apply.
func sendNotifications(ctx context.Context, app *App, g *globalOptions, pl *planned, res *engine.ApplyResult, w io.Writer) {
	if len(pl.p.Notifies) == 0 || res == nil {
		return
	}
	scope, diags := config.NewScope(pl.p, config.ScopeOptions{
		Vars: pl.vars, Workspace: pl.eng.Workspace, Getenv: app.lookupEnv,
		Run: config.RunInfo{Number: res.Run.Number, ID: res.Run.ID}, Git: config.ReadGitContext(ctx, g.dir()),
	})
	if diags.HasErrors() {
		fmt.Fprintf(w, "Warning: no notifications sent: %s\n", diags.Error())
		return
	}
	summary := runSummary(pl, res)
	snd := &notify.Sender{Redact: secretRedactor(pl.p, pl.vars)}
	ctx = context.WithoutCancel(ctx) // an interrupted run is still reported; each try has a timeout
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, name := range sortedNames(pl.p.Notifies) {
		t, diags := scope.EvalNotify(pl.p.Notifies[name])
		if diags.HasErrors() {
			fmt.Fprintf(w, "Warning: notify %q not sent: %s\n", name, diags.Error())
			continue
		}
		if !t.Wants(summary.Event) {
			continue
		}
		s := summary
		s.Link = t.Link
		wg.Go(func() {
			err := snd.Send(ctx, notify.Target{Name: t.Name, URL: t.URL, Format: t.Format, Timeout: t.Timeout, Retries: t.Retries}, s)
			if err != nil {
				mu.Lock()
				fmt.Fprintf(w, "Warning: notify %q failed: %v. The apply's result is not affected.\n", t.Name, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// runSummary is what notifications say about res. Step errors are the
// engine's, already redacted.
func runSummary(pl *planned, res *engine.ApplyResult) notify.Summary {
	r := res.Run
	s := notify.Summary{
		Pipeline: filepath.Base(pl.p.Dir), Workspace: pl.eng.Workspace, Run: r.Number, RunID: r.ID,
		Operation: r.Operation, Result: r.Result, Event: notify.EventOf(r.Result), User: r.User,
		Started: r.Started, Finished: r.Finished, DurationMS: float64(r.Finished.Sub(r.Started).Microseconds()) / 1000,
		Created: r.Created, Updated: r.Updated, Ran: r.Ran, Deleted: r.Deleted,
		Skipped: res.Skipped, Waiting: res.Waiting,
	}
	if len(res.Failures) > 0 {
		s.Event = notify.EventFailure
	}
	for _, f := range append(append([]engine.StepFailure(nil), res.Failures...), res.Tolerated...) {
		s.Failed = append(s.Failed, notify.FailedStep{Addr: f.Addr, Error: strings.TrimPrefix(f.Err.Error(), f.Addr+": ")})
	}
	for addr, d := range res.Durations {
		s.Steps = append(s.Steps, notify.StepDuration{Addr: addr, DurationMS: float64(d.Microseconds()) / 1000})
	}
	sort.Slice(s.Steps, func(i, j int) bool { return s.Steps[i].Addr < s.Steps[j].Addr })
	return s
}

// secretRedactor replaces the values of sensitive variables in a string.
func secretRedactor(p *config.Pipeline, vars map[string]cty.Value) func(string) string {
	var secrets []string
	for name, v := range vars {
		if decl := p.Variables[name]; (decl != nil && decl.Sensitive) || config.HasSensitive(v) {
			u, _ := v.UnmarkDeep()
			_ = cty.Walk(u, func(_ cty.Path, v cty.Value) (bool, error) {
				if v.Type() == cty.String && v.IsKnown() && !v.IsNull() && v.AsString() != "" {
					secrets = append(secrets, v.AsString())
				}
				return true, nil
			})
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	return func(s string) string {
		for _, sec := range secrets {
			s = strings.ReplaceAll(s, sec, "(sensitive)")
		}
		return s
	}
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
