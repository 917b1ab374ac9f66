package clitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CLI runs the ansflow binary for one test.
type CLI struct {
	t testing.TB
	// Bin is the binary's path.
	Bin string
	// Env is the whole environment of every command it runs.
	Env []string
	// Timeout bounds Run; a run that takes longer fails the test.
	Timeout time.Duration

	home  string
	keep  []string
	extra []string
	inDir bool
}

// Option configures New.
type Option func(*CLI)

// Keep passes these variables of the test's environment on to the child
// (see Env.Keep): Keep("KUBECONFIG", "DOCKER_HOST").
func Keep(names ...string) Option { return func(c *CLI) { c.keep = append(c.keep, names...) } }

// With adds NAME=VALUE settings to the child's environment.
func With(kv ...string) Option { return func(c *CLI) { c.extra = append(c.extra, kv...) } }

// Timeout sets how long Run waits (default two minutes).
func Timeout(d time.Duration) Option { return func(c *CLI) { c.Timeout = d } }

// InDir starts commands in the pipeline directory as well as passing
// -chdir, so that relative paths the test gives resolve from there.
func InDir() Option { return func(c *CLI) { c.inDir = true } }

// OnPath runs the ansflow command on PATH (testscript.Main's, in a package
// whose TestMain is testscript's) instead of building one.
func OnPath() Option {
	return func(c *CLI) {
		bin, err := exec.LookPath("ansflow")
		if err != nil {
			c.t.Fatalf("ansflow is not on PATH (TestMain should have put it there): %v", err)
		}
		c.Bin = bin
	}
}

// New returns the harness for t: the binary built once per process (unless
// OnPath), a HOME of its own under t.TempDir() and the clean environment.
func New(t testing.TB, opts ...Option) *CLI {
	t.Helper()
	c := &CLI{t: t, Timeout: 2 * time.Minute, home: filepath.Join(t.TempDir(), "home")}
	for _, o := range opts {
		o(c)
	}
	if c.Bin == "" {
		c.Bin = Binary(t)
	}
	if err := os.MkdirAll(c.home, 0o700); err != nil {
		t.Fatal(err)
	}
	c.Env = environ(c.home, c.keep, c.extra)
	return c
}

// Home is the child's HOME directory.
func (c *CLI) Home() string { return c.home }

// Command prepares `ansflow -chdir=dir args...` (no -chdir when dir is
// empty) with the clean environment; ctx kills it.
func (c *CLI) Command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	if dir != "" {
		args = append([]string{"-chdir=" + dir}, args...)
	}
	cmd := exec.CommandContext(ctx, c.Bin, args...)
	if c.inDir {
		cmd.Dir = dir
	}
	cmd.Env = c.Env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Result is what one run of the binary did.
type Result struct {
	Args           []string
	Stdout, Stderr string
	Code           int
}

// Output is stdout and stderr together, for searching.
func (r Result) Output() string { return r.Stdout + r.Stderr }

func (r Result) String() string {
	return fmt.Sprintf("ansflow %s: exit %d\n--- stdout\n%s--- stderr\n%s",
		strings.Join(r.Args, " "), r.Code, Clip(r.Stdout), Clip(r.Stderr))
}

// Clip shortens s for failure messages.
func Clip(s string) string {
	const max = 4000
	if len(s) > max {
		return s[:max] + fmt.Sprintf("\n... (%d more bytes)\n", len(s)-max)
	}
	return s
}

// Run runs `ansflow -chdir=dir args...` to completion; it fails the test
// when the binary cannot start or outlives c.Timeout.
func (c *CLI) Run(dir string, args ...string) Result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	cmd := c.Command(ctx, dir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Code: exitCode(err)}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) && ctx.Err() == nil {
		c.t.Fatalf("running ansflow %v: %v", args, err)
	}
	if ctx.Err() != nil {
		c.t.Fatalf("ansflow %v did not finish within %s\n%s", args, c.Timeout, r)
	}
	return r
}

// MustRun is Run that fails the test unless ansflow exits 0.
func (c *CLI) MustRun(dir string, args ...string) Result {
	c.t.Helper()
	r := c.Run(dir, args...)
	if r.Code != 0 {
		c.t.Fatalf("want exit 0\n%s", r)
	}
	return r
}

// exitCode is the exit code a Wait error stands for: 0 for nil, -1 when
// the process did not exit normally (killed by a signal, not started).
func exitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	return -1
}
