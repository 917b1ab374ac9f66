// Command truecost measures what running `true` costs a Go process, so the
// benchmark can tell ansflow's per-step overhead from the price of the
// command itself:
//
//	go run ./bench/truecost [-n=300] [-parallelism=10]
//
// It prints three numbers in milliseconds: the wall time of one
// fork+exec+wait of `true` done one after another; the wall time per
// command when -parallelism of them run at once (the throughput an apply of
// independent steps can reach on this machine); and the CPU time (user+sys
// of this process and of the commands) per command over both runs. On a
// busy machine the CPU figure is the steadier one.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 300, "number of commands to run in each measurement")
	par := flag.Int("parallelism", 10, "commands run at once in the parallel measurement")
	flag.Parse()
	ctx := context.Background()
	cpu0, err := cpuTime()
	if err != nil {
		fail(err)
	}
	serial, err := perCommand(ctx, *n, 1)
	if err != nil {
		fail(err)
	}
	parallel, err := perCommand(ctx, *n, *par)
	if err != nil {
		fail(err)
	}
	cpu1, err := cpuTime()
	if err != nil {
		fail(err)
	}
	fmt.Printf("%.3f %.3f %.3f\n", ms(serial), ms(parallel), ms((cpu1-cpu0)/time.Duration(2**n)))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "truecost:", err)
	os.Exit(1)
}

// cpuTime is the user+sys time of this process and its waited-for children.
func cpuTime() (time.Duration, error) {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			return 0, fmt.Errorf("getrusage: %w", err)
		}
		total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return total, nil
}

// perCommand runs `true` n times, par at a time, and returns the wall time
// divided by n.
func perCommand(ctx context.Context, n, par int) (time.Duration, error) {
	jobs := make(chan struct{})
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range par {
		wg.Go(func() {
			for range jobs { // keep draining after an error so the sender never blocks
				if err := exec.CommandContext(ctx, "true").Run(); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
			}
		})
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("running true: %w", firstErr)
	}
	return time.Since(start) / time.Duration(n), nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
