package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ansflow/ansflow/internal/safefile"
	"github.com/ansflow/ansflow/providers/builtin"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/modules"
	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/views"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
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
		for name, f := range p.Files {
			files[name] = f
		}
	}
	diags = withoutSyntheticRanges(diags, files)
	if g.json {
		views.NewJSON(app.Stdout).Diagnostics(diags)
		return
	}
	// Variable files (-var-file, *.auto.vars.hcl) are not pipeline files:
	// read them so their diagnostics show the source line too.
	for _, d := range diags {
		if d.Subject == nil || files[d.Subject.Filename] != nil {
			continue
		}
		if src, _, err := safefile.Read(d.Subject.Filename, safefile.ConfigLimit); err == nil && lineLen(src, d.Subject.Start.Byte) <= maxSnippetLine {
			if masked := maskSensitive(p, d.Subject.Filename, src); masked != nil {
				files[d.Subject.Filename] = &hcl.File{Bytes: masked}
			}
		}
	}
	dropLongLines(files, diags)
	width := 0
	if app.IsTerminal {
		if f, ok := app.Stderr.(*os.File); ok {
			if w, _, err := term.GetSize(int(f.Fd())); err == nil {
				width = w
			}
		}
	}
	wr := hcl.NewDiagnosticTextWriter(app.Stderr, files, uint(width), g.color(app))
	_ = wr.WriteDiagnostics(config.RedactDiagnostics(diags))
}

// maxSnippetLine is the longest source line a diagnostic shows; a longer
// one (500,000 operators on one line) is left out, not echoed.
const maxSnippetLine = 1000

// dropLongLines removes from files those whose line under a diagnostic is
// longer than maxSnippetLine: their diagnostics keep file:line:col but show
// no source.
func dropLongLines(files map[string]*hcl.File, diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Subject == nil {
			continue
		}
		if f := files[d.Subject.Filename]; f != nil && lineLen(f.Bytes, d.Subject.Start.Byte) > maxSnippetLine {
			delete(files, d.Subject.Filename)
		}
	}
}

// lineLen is the length of the line of src that holds byte offset at.
func lineLen(src []byte, at int) int {
	at = min(max(at, 0), len(src))
	from := bytes.LastIndexByte(src[:at], '\n') + 1
	to := bytes.IndexByte(src[at:], '\n')
	if to < 0 {
		to = len(src) - at
	}
	return at + to - from
}

// maskSensitive hides the values a variable file gives sensitive variables,
// so a diagnostic's source line never shows a secret. Bytes keep their
// offsets (each is replaced by '*', newlines kept). Without the pipeline
// to tell which variables are sensitive, every value is hidden. It only
// lexes the file (the lexer does not recurse, so any input is safe).
func maskSensitive(p *config.Pipeline, name string, src []byte) []byte {
	toks, diags := hclsyntax.LexConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil // show no source at all
	}
	out := append([]byte(nil), src...)
	depth, lineStart, maskFrom := 0, true, -1
	for i, tok := range toks {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenTemplateInterp,
			hclsyntax.TokenTemplateControl, hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc:
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenTemplateSeqEnd,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc:
			depth--
		case hclsyntax.TokenNewline, hclsyntax.TokenEOF:
			if depth <= 0 && maskFrom >= 0 {
				for j := maskFrom; j < tok.Range.Start.Byte && j < len(out); j++ {
					if out[j] != '\n' {
						out[j] = '*'
					}
				}
				maskFrom = -1
			}
			lineStart = depth <= 0
			continue
		case hclsyntax.TokenIdent:
			if lineStart && depth == 0 && i+1 < len(toks) && toks[i+1].Type == hclsyntax.TokenEqual && secretName(p, string(tok.Bytes)) {
				maskFrom = toks[i+1].Range.End.Byte
				for maskFrom < len(src) && (src[maskFrom] == ' ' || src[maskFrom] == '\t') {
					maskFrom++
				}
			}
		}
		lineStart = false
	}
	return out
}

// secretName reports whether a variable file's attribute may hold a secret.
func secretName(p *config.Pipeline, name string) bool {
	if p == nil {
		return true
	}
	v := p.Variables[name]
	return v != nil && v.Sensitive
}

// withoutSyntheticRanges drops the made-up ranges ("<value for var.x>")
// config gives values from the command line and the environment, and those
// that point at a file or directory that cannot be read: there is no line
// to show the user, so the detail alone says where.
func withoutSyntheticRanges(diags hcl.Diagnostics, files map[string]*hcl.File) hcl.Diagnostics {
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		if d.Subject != nil && files[d.Subject.Filename] == nil && !readableFile(d.Subject.Filename) {
			c := *d
			c.Subject, c.Context = nil, nil
			d = &c
		}
		out[i] = d
	}
	return out
}

func readableFile(name string) bool {
	if strings.HasPrefix(name, "<") {
		return false
	}
	info, err := os.Stat(name)
	return err == nil && info.Mode().IsRegular()
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
		return fmt.Errorf("a variable is set as NAME=VALUE, e.g. -var build_number=42")
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

// loadConfig loads the pipeline in dir with the step types compiled into
// the binary. Remote module sources come from the lock file and
// .ansflow/modules only (what ansflow init installed): commands other than
// init never fetch anything.
func loadConfig(dir string) (*config.Pipeline, hcl.Diagnostics) {
	return loadConfigWith(dir, modules.NewPinned(dir))
}

// loadConfigWith loads the pipeline in dir, resolving remote module
// sources with r (init passes its installer).
func loadConfigWith(dir string, r config.ModuleResolver) (*config.Pipeline, hcl.Diagnostics) {
	return config.LoadWith(dir, config.Options{Schemas: builtin.Schemas(), Modules: r})
}

// load loads the pipeline and resolves its variables, printing diagnostics.
func load(app *App, g *globalOptions, vf *varFlags) (*config.Pipeline, map[string]cty.Value, error) {
	p, diags := loadConfig(g.dir())
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

// readLocked reads the state under the lock just taken. A run still
// marked running cannot be (we hold the lock): its process was killed, so
// it is recorded as interrupted.
func readLocked(ctx context.Context, store state.Store) (*state.State, error) {
	st, err := store.Read(ctx)
	if err != nil {
		return nil, err
	}
	stale := st.StaleRuns()
	for _, c := range stale {
		if err := store.Append(ctx, st.Lineage, c); err != nil {
			return nil, fmt.Errorf("recording that run %d was interrupted: %w", c.Run.Number, err)
		}
	}
	if len(stale) == 0 {
		return st, nil
	}
	return store.Read(ctx)
}
