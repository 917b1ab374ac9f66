package exec

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// A step's command must not outlive the apply that started it, even when
// ansflow is killed with SIGKILL and cannot clean up. So ansflow does not
// start the command itself: it starts a copy of its own binary as a small
// supervisor, the leader of a new process group, which starts the command
// in that group. The supervisor holds the read end of a pipe (the
// lifeline) whose write end only ansflow holds. When ansflow dies,
// however it dies, the kernel closes the write end, the supervisor reads
// EOF and kills the whole group with SIGKILL. On Linux the command also
// gets SIGKILL should the supervisor itself die (parent-death signal).
//
// The supervisor runs when the binary starts with supervisorEnv set (see
// init): the package's init runs it before main, in ansflow and in tests.

// supervisorEnv marks a process started as a step supervisor.
const supervisorEnv = "ANSFLOW_STEP_SUPERVISOR"

// lifelineFD is the supervisor's file descriptor of the lifeline.
const lifelineFD = 3

func init() {
	if os.Getenv(supervisorEnv) == "1" {
		os.Exit(supervise(os.Args))
	}
}

// supervisorArgs are the arguments of a supervisor for the command at
// path with argv.
func supervisorArgs(path string, argv []string) []string {
	return append([]string{"ansflow-step-supervisor", path}, argv...)
}

// supervise is the supervisor's main: args are supervisorArgs. It returns
// the command's exit code, or dies of the signal that killed the command.
func supervise(args []string) int {
	if len(args) < 3 {
		fmt.Fprintln(os.Stderr, "ansflow step supervisor: no command")
		return 127
	}
	path, argv := args[1], args[2:]
	lifeline := os.NewFile(lifelineFD, "lifeline")
	syscall.CloseOnExec(lifelineFD)
	// ansflow starts the supervisor as the leader of a new group; make
	// sure of it, so that killing the group never reaches anyone else.
	if syscall.Getpgrp() != os.Getpid() {
		if err := syscall.Setpgid(0, 0); err != nil {
			fmt.Fprintf(os.Stderr, "ansflow step supervisor: cannot lead a process group: %v\n", err)
			return 127
		}
	}
	group := os.Getpid()

	// Signals for the group reach the command directly; the supervisor
	// stays until the command is gone. Caught (not ignored) signals are
	// reset for the command by exec.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	go func() {
		for range sigs {
		}
	}()

	p, err := os.StartProcess(path, argv, &os.ProcAttr{
		Env:   withoutEnv(os.Environ(), supervisorEnv),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   commandSysProcAttr(),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ansflow: cannot start %s: %v\n", path, unwrapPath(err))
		return 127
	}
	go func() {
		_, _ = io.Copy(io.Discard, lifeline)
		// ansflow is gone: nothing of the step may stay.
		_ = syscall.Kill(-group, syscall.SIGKILL)
	}()
	st, err := p.Wait()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ansflow: waiting for %s: %v\n", path, err)
		return 127
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		signal.Reset(ws.Signal())
		_ = syscall.Kill(os.Getpid(), ws.Signal())
		return 128 + int(ws.Signal())
	}
	return st.ExitCode()
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
