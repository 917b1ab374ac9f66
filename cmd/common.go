package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/state"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/pflag"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/term"
)

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// printDiags writes diagnostics like HCL's text writer: file:line:col, the
// source line and a caret.
func printDiags(app *App, g *globalOptions, p *config.Pipeline, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	files := map[string]*hcl.File{}
	if p != nil {
		files = p.Files
	}
	width := 0
	if app.IsTerminal {
		if f, ok := app.Stderr.(*os.File); ok {
			if w, _, err := term.GetSize(int(f.Fd())); err == nil {
				width = w
			}
		}
	}
	wr := hcl.NewDiagnosticTextWriter(app.Stderr, files, uint(width), g.color(app))
	_ = wr.WriteDiagnostics(diags)
}

// diagsError prints diags and returns the error that ends the command when
// they hold errors.
func diagsError(app *App, g *globalOptions, p *config.Pipeline, diags hcl.Diagnostics) error {
	printDiags(app, g, p, diags)
	if diags.HasErrors() {
		return exitCode(1)
	}
	return nil
}

// varFlags are -var and -var-file, kept in command-line order.
type varFlags struct {
	args []config.VarArg
}

type varFlag struct {
	v    *varFlags
	file bool
}

func (f varFlag) String() string { return "" }
func (f varFlag) Type() string {
	if f.file {
		return "FILE"
	}
	return "NAME=VALUE"
}
func (f varFlag) Set(s string) error {
	if f.file {
		f.v.args = append(f.v.args, config.VarArg{File: s})
		return nil
	}
	name, value, ok := cutEq(s)
	if !ok || name == "" {
		return fmt.Errorf("-var needs NAME=VALUE, got %q", s)
	}
	f.v.args = append(f.v.args, config.VarArg{Name: name, Value: value})
	return nil
}

func cutEq(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func (v *varFlags) register(fs *pflag.FlagSet) {
	fs.Var(varFlag{v: v}, "var", "set a variable (repeatable)")
	fs.Var(varFlag{v: v, file: true}, "var-file", "read variable values from an HCL file (repeatable)")
}

// workspace of the pipeline directory.
func workspace(dir string) (string, error) {
	return state.CurrentWorkspace(dir)
}

func stateDir(dir string) string { return filepath.Join(dir, ".ansflow", "state") }

// openStore opens the state store of the current workspace, in the
// backend the pipeline's ansflow block configures (local by default).
func openStore(dir string) (state.Store, string, error) {
	return openPipelineStore(dir, nil)
}

// lockOptions are -lock-timeout.
type lockOptions struct {
	timeout time.Duration
}

func (l *lockOptions) register(fs *pflag.FlagSet) {
	fs.DurationVar(&l.timeout, "lock-timeout", 0, "wait up to `DURATION` for the state lock held by another run (default: fail at once)")
}

// lock takes the workspace lock for an operation.
func (l *lockOptions) lock(ctx context.Context, store state.Store, op string) (*state.Lock, error) {
	info := state.NewLockInfo(op)
	info.Version = Version
	if l.timeout > 0 {
		lctx, cancel := context.WithTimeout(ctx, l.timeout)
		defer cancel()
		return store.Lock(lctx, info, true)
	}
	return store.Lock(ctx, info, false)
}

// interrupts implements the two-stage Ctrl-C: the first closes stop (no new
// steps start; running ones finish and are recorded), the second cancels
// ctx (running steps are cancelled). release restores default handling.
func interrupts(parent context.Context, w io.Writer) (ctx context.Context, stop <-chan struct{}, release func()) {
	ctx, cancel := context.WithCancel(parent)
	stopCh := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var once sync.Once
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case <-sigs:
				n++
				if n == 1 {
					fmt.Fprintln(w, "\nInterrupt received: no new steps will start; waiting for the running ones to finish and be recorded.\nPress Ctrl-C again to cancel them.")
					close(stopCh)
				} else {
					fmt.Fprintln(w, "\nSecond interrupt: cancelling the running steps.")
					cancel()
				}
			}
		}
	}()
	return ctx, stopCh, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel()
		})
	}
}

// lockError renders a failure to lock.
func lockError(err error) error {
	var le *state.LockedError
	if errors.As(err, &le) {
		return &exitError{code: 1, msg: "Error: " + le.Error()}
	}
	return err
}

// newEngine builds the engine of a pipeline directory.
func newEngine(app *App, dir, ws string, store state.Store) (*engine.Engine, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &engine.Engine{
		Dir: abs, Workspace: ws, Store: store, Providers: app.Providers(),
		Getenv: app.lookupEnv,
	}, nil
}

// load loads the pipeline and resolves its variables, printing diagnostics.
func load(app *App, g *globalOptions, vf *varFlags) (*config.Pipeline, map[string]cty.Value, error) {
	p, diags := config.Load(g.dir())
	if diags.HasErrors() {
		return nil, nil, diagsError(app, g, p, diags)
	}
	var args []config.VarArg
	if vf != nil {
		for _, a := range vf.args {
			a.File = g.path(a.File)
			args = append(args, a)
		}
	}
	vars, vdiags := p.ResolveVariables(config.VarInputs{Args: args, Environ: app.Environ})
	diags = append(diags, vdiags...)
	if err := diagsError(app, g, p, diags); err != nil {
		return nil, nil, err
	}
	return p, vars, nil
}
