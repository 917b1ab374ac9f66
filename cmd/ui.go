package cmd

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/web"
	"github.com/spf13/cobra"
)

type uiOptions struct {
	addr  string
	open  bool
	token string
}

func newUICommand(app *App, g *globalOptions) *cobra.Command {
	o := &uiOptions{}
	c := &cobra.Command{
		Use:   "ui [PLANFILE] [flags]",
		Short: "Serve a local, read-only dashboard of runs, graphs, timelines, logs and statistics",
		Long: `Serves a web dashboard of the pipeline directory's current workspace: the
runs of its history (with filters), each run's step graph coloured by status
and its timeline with attempts, retries and the critical path, each step's
reason, values (secrets shown as "(sensitive value)"), attempts and logs,
saved plans (PLANFILE, or plan files found in the directory and .ansflow), and
per-step statistics as in ` + "`ansflow history -stats`" + `. A run page follows an apply
while it runs. Everything is served from the binary; nothing is fetched from
the internet, and nothing can be changed from the dashboard.

It listens on 127.0.0.1:8300 by default. Any other address that other
machines can reach needs -token=SECRET, which every request must carry
(open the printed address once; a cookie keeps it). Ctrl-C stops it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			planFile := ""
			if len(args) == 1 {
				planFile = g.path(args[0])
			}
			return runUI(cmd.Context(), app, g, o, planFile)
		},
	}
	c.Flags().StringVar(&o.addr, "addr", "127.0.0.1:8300", "listen on `HOST:PORT`")
	c.Flags().BoolVar(&o.open, "open", false, "open the dashboard in the default browser")
	c.Flags().StringVar(&o.token, "token", "", "require `SECRET` on every request (needed to listen beyond loopback)")
	return c
}

func runUI(ctx context.Context, app *App, g *globalOptions, o *uiOptions, planFile string) error {
	if err := web.CheckAddr(o.addr, o.token); err != nil {
		return &exitError{code: 1, msg: "Error: " + err.Error() + "."}
	}
	dir, err := filepath.Abs(g.dir())
	if err != nil {
		return err
	}
	store, ws, err := openStore(dir)
	if err != nil {
		return err
	}
	defer closeStore(store)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv := &web.Server{Dir: dir, Workspace: ws, PlanFile: planFile, Token: o.token,
		ReadState: func(ctx context.Context) (*state.State, error) { return store.Read(ctx) }}
	return srv.Serve(ctx, o.addr, func(a net.Addr) {
		u := "http://" + a.String() + "/"
		if o.token != "" {
			u += "?token=" + url.QueryEscape(o.token)
		}
		fmt.Fprintf(app.Stdout, "ansflow ui: the dashboard of %s (workspace %q) is at %s\nPress Ctrl-C to stop.\n", dir, ws, u)
		if o.open {
			openBrowser(app, u)
		}
	})
}

// openBrowser starts the system's browser on u, best effort.
func openBrowser(app *App, u string) {
	name, args := "xdg-open", []string{u}
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler", u}
	}
	if err := exec.Command(name, args...).Start(); err != nil {
		fmt.Fprintf(app.Stderr, "Warning: cannot open a browser (%v); open %s yourself.\n", err, u)
	}
}
