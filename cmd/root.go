// Package cmd holds ansflow's command line: one cobra command per verb, each
// a thin layer that parses flags, calls config, engine and state, and hands
// the results to views.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/views"
	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/ansflow/ansflow/cmd.Version=...".
var Version = "0.1.0-dev"

// App is what the commands need from the outside world.
type App struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Environ        []string
	// IsTerminal reports whether stdin and stdout are terminals (prompts,
	// live progress, colour).
	IsTerminal bool
	// Providers builds the step type implementations.
	Providers func() providers.Registry
}

func (a *App) getenv(name string) string {
	v, _ := a.lookupEnv(name)
	return v
}

func (a *App) lookupEnv(name string) (string, bool) {
	prefix := name + "="
	for i := len(a.Environ) - 1; i >= 0; i-- {
		if strings.HasPrefix(a.Environ[i], prefix) {
			return a.Environ[i][len(prefix):], true
		}
	}
	return "", false
}

// exitError carries an exit code; its message, if any, was already shown.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// exitCode builds an error that ends ansflow with code and prints nothing more.
func exitCode(code int) error { return &exitError{code: code} }

// globalOptions are the flags every command takes.
type globalOptions struct {
	chdir   string
	noColor bool
	// json is set when the command runs with -json: then every error and
	// diagnostic is written as a JSON event on stdout, never as text.
	json bool
}

// Main runs ansflow with args (without the program name) and returns the
// process exit code.
func Main(ctx context.Context, app *App, args []string) int {
	root, g := newRootCommand(app)
	args = normalizeArgs(args)
	root.SetArgs(args)
	root.SetIn(app.Stdin)
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if g.json || wantsJSON(root, args) {
		// CI wrappers read -json output only: no error goes to stderr.
		switch {
		case errors.As(err, &ee) && ee.msg == "":
		case errors.As(err, &ee):
			views.NewJSON(app.Stdout).Error(ee.msg)
		default:
			views.NewJSON(app.Stdout).Error(err.Error())
		}
		if ee != nil {
			return ee.code
		}
		return 1
	}
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(app.Stderr, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintf(app.Stderr, "Error: %s\n", err)
	return 1
}

// wantsJSON reports whether args ask a command that has -json for it; it
// covers the errors found before the flags were parsed.
func wantsJSON(root *cobra.Command, args []string) bool {
	cmd, _, err := root.Find(args)
	if err != nil || cmd.Flags().Lookup("json") == nil {
		return false
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--json" || a == "--json=true" {
			return true
		}
	}
	return false
}

// NewRootCommand builds the ansflow command tree.
func NewRootCommand(app *App) *cobra.Command {
	root, _ := newRootCommand(app)
	return root
}

func newRootCommand(app *App) (*cobra.Command, *globalOptions) {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "ansflow",
		Short: "Declarative plan/apply for CI/CD pipelines of Docker and Kubernetes steps",
		Long: `ansflow reads a directory of HCL pipeline files, works out which steps changed
since the last run and why (plan), and runs them in parallel against Docker and
Kubernetes, recording every result so a rerun does only what changed (apply).

Flags are written Terraform style with one dash (-chdir=DIR); two dashes work too.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetVersionTemplate("ansflow {{.Version}}\n")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if f := cmd.Flags().Lookup("json"); f != nil && f.Value.String() == "true" {
			g.json = true
		}
		return nil
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.chdir, "chdir", "", "run in directory `DIR` (the pipeline directory)")
	pf.BoolVar(&g.noColor, "no-color", false, "do not use colours in output (also NO_COLOR)")
	root.CompletionOptions.HiddenDefaultCmd = true

	root.Args = unknownCommand
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		// Like Terraform: without a command, the help, and exit code 127.
		_ = cmd.Help()
		return exitCode(127)
	}
	root.AddCommand(
		newInitCommand(app, g),
		newValidateCommand(app, g),
		newFmtCommand(app, g),
		newGraphCommand(app, g),
		newPlanCommand(app, g),
		newApplyCommand(app, g, false),
		newApplyCommand(app, g, true),
		newShowCommand(app, g),
		newStateCommand(app, g),
		newOutputCommand(app, g),
		newLogsCommand(app, g),
		newHistoryCommand(app, g),
		newWorkspaceCommand(app, g),
		newForceUnlockCommand(app, g),
		newVersionCommand(app),
		newConvertCommand(app, g),
		newApproveCommand(app, g),
		newCompletionCommand(app),
		newUICommand(app, g),
	)
	explainArgs(root)
	root.SetFlagErrorFunc(flagError)
	root.SetUsageFunc(func(c *cobra.Command) error {
		_, err := io.WriteString(c.OutOrStderr(), usageText(c))
		return err
	})
	root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		w := c.OutOrStdout()
		if text := strings.TrimSpace(c.Long); text != "" {
			fmt.Fprintf(w, "%s\n\n", text)
		} else if c.Short != "" {
			fmt.Fprintf(w, "%s\n\n", c.Short)
		}
		_, _ = io.WriteString(w, usageText(c))
	})
	return root, g
}

// normalizeArgs turns Terraform-style single-dash long flags (-chdir=DIR,
// -auto-approve) into the double-dash form cobra parses. Single letters
// (-h) and everything after "--" are left alone.
func normalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && isLetter(a[1]) && (isLetter(a[2]) || a[2] == '-') {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// dir is the pipeline directory.
func (g *globalOptions) dir() string {
	if g.chdir == "" {
		return "."
	}
	return g.chdir
}

// path resolves a path given on the command line: like Terraform, -chdir
// changes directory first, so relative paths (-var-file, -out, PLANFILE) are
// relative to the pipeline directory.
func (g *globalOptions) path(p string) string {
	if g.chdir == "" || p == "" || p == "-" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(g.chdir, p)
}

// color reports whether to use colour on w.
func (g *globalOptions) color(app *App) bool {
	if g.noColor || app.getenv("NO_COLOR") != "" || app.getenv("TERM") == "dumb" {
		return false
	}
	return app.IsTerminal
}

// Run is the binary's entry point: it wires the real world and returns the
// exit code.
func Run(reg func() providers.Registry) int {
	app := &App{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Environ:    os.Environ(),
		IsTerminal: isTerminal(os.Stdin) && isTerminal(os.Stdout),
		Providers:  reg,
	}
	return Main(context.Background(), app, os.Args[1:])
}
