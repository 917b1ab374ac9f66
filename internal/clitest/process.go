package clitest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process is an ansflow command running in the background, its stdout and
// stderr going to one file the test can read at any time. A file, not a
// pipe: Wait returns when ansflow exits even if a step's process outlives
// it. It is killed when the test ends, if it still runs.
type Process struct {
	t       testing.TB
	cmd     *exec.Cmd
	pid     int
	outPath string
	done    chan struct{}
	err     error
	// Started is when it was started.
	Started time.Time
}

// Start starts `ansflow -chdir=dir args...` in the background.
func (c *CLI) Start(dir string, args ...string) *Process {
	c.t.Helper()
	t := c.t
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := c.Command(context.Background(), dir, args...)
	cmd.Stdout, cmd.Stderr = out, out
	p := &Process{t: t, cmd: cmd, outPath: out.Name(), done: make(chan struct{}), Started: time.Now()}
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("starting ansflow %v: %v", args, err)
	}
	p.pid = cmd.Process.Pid
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

// Pid is the process id of the ansflow process.
func (p *Process) Pid() int { return p.pid }

// Signal sends sig to ansflow (not to its steps: they are in their own
// process groups, and ansflow decides what reaches them).
func (p *Process) Signal(sig syscall.Signal) error { return syscall.Kill(p.pid, sig) }

// Interrupt is one Ctrl-C (SIGINT); twice cancels the running steps.
func (p *Process) Interrupt() error { return p.Signal(syscall.SIGINT) }

// Kill sends SIGKILL: ansflow cannot clean up.
func (p *Process) Kill() error { return p.Signal(syscall.SIGKILL) }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Output is everything the process printed so far.
func (p *Process) Output() string {
	p.t.Helper()
	b, err := os.ReadFile(p.outPath)
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}

// WaitFor polls the output until it contains marker; false after limit or
// once the process has exited without printing it.
func (p *Process) WaitFor(marker string, limit time.Duration) bool {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if strings.Contains(p.Output(), marker) {
			return true
		}
		select {
		case <-p.done:
			return strings.Contains(p.Output(), marker)
		default:
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Wait waits at most limit for the process to exit and returns its exit
// code (-1 when a signal ended it); it fails the test when the process
// still runs after limit.
func (p *Process) Wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		p.t.Fatalf("ansflow still runs after %s; output so far:\n%s", limit, Clip(p.Output()))
	}
	var exit *exec.ExitError
	if p.err != nil && !errors.As(p.err, &exit) {
		p.t.Fatalf("ansflow: %v", p.err)
	}
	return exitCode(p.err)
}

// Alive reports whether pid runs: it exists and is not a zombie.
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false // gone since the kill(2)
	}
	// "pid (comm) S ...": the state follows the last parenthesis.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// WaitGone waits at most d for pid to end; false if it still runs.
func WaitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for Alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
