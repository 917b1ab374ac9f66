// Command cliprof runs one ansflow command in-process under the CPU
// profiler, to see where a whole CLI run (start-up excepted) spends its
// time, views and state files included:
//
//	go run ./bench/cliprof -cpuprofile=cpu.prof [-count=N] -- -chdir=DIR plan -refresh=false
//	go tool pprof -top -cum cpu.prof
//
// The command's output is discarded. With -count it runs N times (for
// commands that can repeat, such as plan) to collect more samples. With
// -fake-exec, exec steps run no process (bench/fakeexec): an apply then
// builds a large state in seconds.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/ansflow/ansflow/bench/fakeexec"
	"github.com/ansflow/ansflow/cmd"
	"github.com/ansflow/ansflow/providers/builtin"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cliprof:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("cliprof", flag.ContinueOnError)
	profile := fs.String("cpuprofile", "cpu.prof", "write the CPU profile to `FILE`")
	count := fs.Int("count", 1, "run the command this many times")
	fake := fs.Bool("fake-exec", false, "replace the exec step type with one that runs no process (to build big states quickly)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("give the ansflow arguments after --, e.g. -- -chdir=DIR plan")
	}
	f, err := os.Create(*profile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	reg := builtin.Registry
	if *fake {
		reg = fakeexec.Wrap(reg)
	}
	var stderr strings.Builder
	app := &cmd.App{
		Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
		Environ: os.Environ(), Providers: reg,
	}
	for i := range *count {
		// Exit code 2 is -detailed-exitcode's "there are changes".
		if code := cmd.Main(context.Background(), app, fs.Args()); code != 0 && code != 2 {
			return fmt.Errorf("run %d exited %d: %s", i+1, code, stderr.String())
		}
	}
	return nil
}
