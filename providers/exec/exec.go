// Package exec implements the exec step type: a local command run to
// completion, with stdout and stderr captured separately.
package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers"
	"github.com/zclconf/go-cty/cty"
)

// Type is the exec step type: its schema and its implementation.
func Type() providers.Type { return providers.Type{Schema: Schema(), Step: New()} }

// Schema describes the exec step type.
func Schema() *config.StepSchema {
	return &config.StepSchema{
		Type: "exec", Kind: config.RunToCompletion,
		Description: "Runs a local command to completion. The command is an argv list; no shell is involved unless you write `[\"sh\", \"-c\", ...]`.",
		ResultIDs:   []config.ResultID{{Output: "exit_code", Prefix: "exit="}},
		Inputs: []config.AttrSchema{
			config.Attr("command", cty.List(cty.String), "Program and arguments to run.").AsRequired().WithExample(cty.ListVal([]cty.Value{cty.StringVal("echo"), cty.StringVal("hello")})),
			config.Attr("env", cty.Map(cty.String), "Extra environment variables, added to ansflow's own environment."),
			config.Attr("workdir", cty.String, "Working directory, relative to the pipeline directory. Defaults to the pipeline directory."),
			config.Attr("expect_exit_code", cty.Number, "Exit code that counts as success.").WithDefault(cty.NumberIntVal(0)),
			config.Attr("sources", cty.List(cty.String), "Files the command reads, as paths or glob patterns relative to the pipeline directory (`[\"src/*.go\", \"go.mod\"]`); a directory stands for everything in it. A change to their contents makes the step run again."),
		},
		Outputs: []config.AttrSchema{
			config.Attr("exit_code", cty.Number, "Exit code of the command."),
			config.Attr("stdout", cty.String, "Standard output (capped at 1 MiB; the full text is in the step's log)."),
			config.Attr("stderr", cty.String, "Standard error (capped at 1 MiB; the full text is in the step's log)."),
		},
	}
}

// OutputCap bounds the stdout and stderr outputs; the logs keep everything.
const OutputCap = 1 << 20

// Step is the exec step type.
type Step struct {
	// WaitDelay is how long a cancelled command gets between SIGTERM and
	// SIGKILL.
	WaitDelay time.Duration
}

var _ providers.Step = (*Step)(nil)

// New returns the exec step type.
func New() *Step { return &Step{WaitDelay: 5 * time.Second} }

// Validate checks what types cannot: a non-empty command and a whole exit
// code from 0 to 255.
func (s *Step) Validate(in cty.Value) error {
	argv := stringList(in.GetAttr("command"))
	if len(argv) == 0 || argv[0] == "" {
		return errors.New("command is empty; give the program and its arguments, e.g. [\"make\", \"test\"]")
	}
	if v := in.GetAttr("expect_exit_code"); !v.IsNull() {
		if _, err := ExitCode(v); err != nil {
			return fmt.Errorf("expect_exit_code: %v", err)
		}
	}
	return nil
}

// ExitCode reads a number that must be a process exit code (0 to 255).
func ExitCode(v cty.Value) (int, error) {
	f := v.AsBigFloat()
	if !f.IsInt() || f.Sign() < 0 || f.Cmp(big.NewFloat(255)) > 0 {
		return 0, fmt.Errorf("%s is not an exit code; use a whole number from 0 to 255", f.Text('g', 10))
	}
	n, _ := f.Int64()
	return int(n), nil
}

// Fingerprint hashes the files listed in sources, so editing one of them
// makes the step run again.
func (s *Step) Fingerprint(_ context.Context, req providers.FingerprintRequest) (map[string]string, error) {
	patterns := stringList(req.Inputs.GetAttr("sources"))
	if len(patterns) == 0 {
		return nil, nil
	}
	h, err := hashSources(req.Env.Dir, patterns)
	if err != nil {
		return nil, err
	}
	return map[string]string{"sources": h}, nil
}

// Read returns the prior outputs: there is nothing to refresh.
func (s *Step) Read(_ context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	return providers.ReadResponse{Outputs: req.Prior.Outputs}, nil
}

// Delete has nothing to undo.
func (s *Step) Delete(context.Context, providers.DeleteRequest) error { return nil }

// Apply runs the command.
func (s *Step) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	in := req.Inputs
	argv := stringList(in.GetAttr("command"))
	if len(argv) == 0 || argv[0] == "" {
		return providers.ApplyResponse{}, errors.New("command is empty; give the program and its arguments, e.g. [\"make\", \"test\"]")
	}
	dir := req.Env.Dir
	if wd := stringAttr(in, "workdir"); wd != "" {
		if filepath.IsAbs(wd) {
			dir = wd
		} else {
			dir = filepath.Join(req.Env.Dir, wd)
		}
	}
	if err := checkWorkdir(dir, stringAttr(in, "workdir")); err != nil {
		return providers.ApplyResponse{}, err
	}
	want := 0
	if v := in.GetAttr("expect_exit_code"); !v.IsNull() {
		n, err := ExitCode(v)
		if err != nil {
			return providers.ApplyResponse{}, fmt.Errorf("expect_exit_code: %v", err)
		}
		want = n
	}

	path, err := lookCommand(argv[0], dir)
	if err != nil {
		return providers.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{
			"exit_code": cty.NumberIntVal(-1), "stdout": cty.StringVal(""), "stderr": cty.StringVal(""),
		})}, err
	}
	cmd, lifeline, err := s.supervised(ctx, path, argv)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	defer lifeline.Close() // the supervisor kills what is left of the step
	cmd.Dir = dir
	cmd.Env = append(mergeEnv(os.Environ(), stringMap(in.GetAttr("env"))), supervisorEnv+"=1")
	var out, errb capped
	cmd.Stdout = multi(req.Logs.Stdout, &out)
	cmd.Stderr = multi(req.Logs.Stderr, &errb)
	cmd.Stdin = nil

	err = runSupervised(cmd)
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	outputs := cty.ObjectVal(map[string]cty.Value{
		"exit_code": cty.NumberIntVal(int64(code)),
		"stdout":    cty.StringVal(out.String()),
		"stderr":    cty.StringVal(errb.String()),
	})
	resp := providers.ApplyResponse{Outputs: outputs}
	if ctx.Err() != nil {
		// Killed by the timeout or by the second Ctrl-C: the engine explains.
		if code < 0 {
			resp.Outputs = cty.ObjectVal(map[string]cty.Value{
				"exit_code": cty.NullVal(cty.Number),
				"stdout":    cty.StringVal(out.String()),
				"stderr":    cty.StringVal(errb.String()),
			})
		}
		return resp, ctx.Err()
	}
	var exitErr *osexec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return resp, startError(argv[0], dir, err)
	}
	if code != want {
		return resp, exitError(code, want, errb.tail())
	}
	return resp, nil
}

// checkWorkdir says plainly when the directory to run in is missing.
func checkWorkdir(dir, workdir string) error {
	info, err := os.Stat(dir)
	switch {
	case workdir == "":
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("workdir %q does not exist (%s); create it in an earlier step or fix workdir", workdir, dir)
	case err != nil:
		return fmt.Errorf("workdir %q cannot be used: %v", workdir, unwrapPath(err))
	case !info.IsDir():
		return fmt.Errorf("workdir %q is not a directory (%s)", workdir, dir)
	}
	return nil
}

// startError explains why a program could not be started, without Go's
// fork/exec wording.
func startError(prog, dir string, err error) error {
	switch {
	case errors.Is(err, osexec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot run %q: not found in PATH or in %s; check the command's first element", prog, dir)
	case errors.Is(err, fs.ErrPermission):
		path := prog
		if !filepath.IsAbs(path) && strings.ContainsRune(path, filepath.Separator) {
			path = filepath.Join(dir, path)
		}
		if info, serr := os.Stat(path); serr == nil && info.IsDir() {
			return fmt.Errorf("cannot run %q: it is a directory, not a program", prog)
		}
		return fmt.Errorf("cannot run %q: it is not executable (permission denied); make it executable (chmod +x) or run it through its interpreter, e.g. [\"sh\", %q]", prog, prog)
	}
	return fmt.Errorf("cannot run %q: %v", prog, unwrapPath(err))
}

// unwrapPath drops the operation and path Go puts in front of a system error.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// lookCommand finds the program argv0 names, as os/exec would: a name
// with a slash relative to dir, else in PATH. It also refuses what could not
// be started (a directory, a file without an exec bit) before a supervisor
// is started for it, so the message names the problem plainly.
func lookCommand(argv0, dir string) (string, error) {
	p := argv0
	if !strings.Contains(argv0, "/") {
		found, err := osexec.LookPath(argv0)
		if err != nil {
			return "", startError(argv0, dir, err)
		}
		p = found
	} else if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	info, err := os.Stat(p)
	switch {
	case err != nil:
		return "", startError(argv0, dir, err)
	case info.IsDir() || info.Mode()&0o111 == 0:
		return "", startError(argv0, dir, fs.ErrPermission)
	}
	return p, nil
}

// supervised prepares the command at path with argv under a supervisor
// (see supervise.go): its own process group, so that a Ctrl-C meant for
// ansflow reaches it only through ansflow (which lets it finish first),
// and a lifeline that ansflow must close once the command is done.
func (s *Step) supervised(ctx context.Context, path string, argv []string) (*osexec.Cmd, *os.File, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("finding the ansflow binary to supervise the command: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("starting the command: %w", err)
	}
	cmd := osexec.CommandContext(ctx, self)
	cmd.Args = supervisorArgs(path, argv)
	cmd.ExtraFiles = []*os.File{r} // fd 3: lifelineFD
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Cancelled: SIGTERM to the group, SIGKILL to it if it is still
	// there after WaitDelay.
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		time.AfterFunc(s.WaitDelay, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		return syscall.Kill(-pgid, syscall.SIGTERM)
	}
	cmd.WaitDelay = s.WaitDelay + time.Second
	return cmd, w, nil
}

// runSupervised runs cmd from supervised; the read end of the lifeline is
// the supervisor's alone once it has started.
func runSupervised(cmd *osexec.Cmd) error {
	err := cmd.Start()
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	if err != nil {
		return err
	}
	return cmd.Wait()
}

func exitError(code, want int, tail []string) error {
	msg := fmt.Sprintf("exited with code %d (expected %d)", code, want)
	if len(tail) > 0 {
		msg += "; last lines of stderr:\n  " + strings.Join(tail, "\n  ")
	}
	return errors.New(msg)
}

// capped keeps at most OutputCap bytes and remembers whether it was cut.
type capped struct {
	mu  sync.Mutex
	buf bytes.Buffer
	cut bool
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := OutputCap - c.buf.Len()
	if room < len(p) {
		c.cut = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	c.buf.Write(p)
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.buf.String()
	if c.cut {
		s += "\n[output truncated at 1 MiB; the step's log has all of it]\n"
	}
	return s
}

func (c *capped) tail() []string {
	s := strings.TrimRight(c.String(), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return lines
}

type multiWriter struct {
	ws []interface{ Write([]byte) (int, error) }
}

func multi(ws ...interface{ Write([]byte) (int, error) }) *multiWriter {
	m := &multiWriter{}
	for _, w := range ws {
		if w != nil {
			m.ws = append(m.ws, w)
		}
	}
	return m
}

func (m *multiWriter) Write(p []byte) (int, error) {
	for _, w := range m.ws {
		_, _ = w.Write(p) // a failing log must not kill the command
	}
	return len(p), nil
}

func mergeEnv(base []string, extra map[string]string) []string {
	if len(extra) == 0 {
		return base
	}
	out := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := extra[k]; !ok {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+extra[k])
	}
	return out
}

func stringAttr(obj cty.Value, name string) string {
	v := obj.GetAttr(name)
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

func stringList(v cty.Value) []string {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			out = append(out, "")
			continue
		}
		out = append(out, ctyString(e))
	}
	return out
}

func stringMap(v cty.Value) map[string]string {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsNull() {
			out[k.AsString()] = ctyString(e)
		}
	}
	return out
}

func ctyString(v cty.Value) string {
	switch v.Type() {
	case cty.String:
		return v.AsString()
	case cty.Number:
		return v.AsBigFloat().Text('f', -1)
	case cty.Bool:
		if v.True() {
			return "true"
		}
		return "false"
	}
	return fmt.Sprint(v.GoString())
}
