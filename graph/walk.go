package graph

import (
	"context"
	"errors"
)

// VisitFunc is called once per node, after every dependency of the node was
// visited successfully. A non-nil error marks the node failed: its
// dependents are not visited.
type VisitFunc func(ctx context.Context, node int) error

// WalkOptions tune a walk.
type WalkOptions struct {
	// Parallelism bounds how many visits run at once; < 1 means 1.
	Parallelism int
	// Stop, when closed, stops scheduling: visits already running finish,
	// nothing new starts. Cancelling the walk's ctx does the same and is
	// also seen by the running visits.
	Stop <-chan struct{}
}

// WalkResult says how each node ended. Nodes in none of the maps were
// visited successfully.
type WalkResult struct {
	Failed     map[int]error // visit returned an error
	Skipped    map[int]int   // not visited because this failed dependency (the first found) failed
	NotStarted []int         // not visited because the walk was stopped
}

// OK reports whether every node was visited successfully.
func (r *WalkResult) OK() bool {
	return len(r.Failed) == 0 && len(r.Skipped) == 0 && len(r.NotStarted) == 0
}

// ErrStopped is the cause given to nodes the walk never started.
var ErrStopped = errors.New("stopped before it started")

type done struct {
	node int
	err  error
}

// Walk visits every node after its dependencies, at most opts.Parallelism at
// a time, and returns when no visit is running. The walk owns all the
// goroutines it starts. The graph must be acyclic (check with Cycle first).
func (g *Graph) Walk(ctx context.Context, opts WalkOptions, visit VisitFunc) WalkResult {
	par := opts.Parallelism
	if par < 1 {
		par = 1
	}
	n := len(g.names)
	res := WalkResult{Failed: map[int]error{}, Skipped: map[int]int{}}
	pending := make([]int, n)
	blockedBy := make([]int, n) // -1: not blocked
	ready := make([]int, 0, n)
	for i := 0; i < n; i++ {
		pending[i] = len(g.deps[i])
		blockedBy[i] = -1
		if pending[i] == 0 {
			ready = append(ready, i)
		}
	}
	finished := make(chan done, par)
	running, settled := 0, 0
	stopped := false

	stop := opts.Stop
	// release marks n settled and readies or blocks its dependents.
	settledNode := make([]bool, n)
	var release func(node int, failedCause int)
	release = func(node int, cause int) {
		settled++
		settledNode[node] = true
		for _, d := range g.dependents[node] {
			if cause >= 0 && blockedBy[d] < 0 {
				blockedBy[d] = cause
			}
			pending[d]--
			if pending[d] == 0 {
				if blockedBy[d] >= 0 {
					res.Skipped[d] = blockedBy[d]
					release(d, blockedBy[d])
				} else {
					ready = append(ready, d)
				}
			}
		}
	}

	for settled < n {
		if !stopped {
			select {
			case <-stop:
				stopped = true
			case <-ctx.Done():
				stopped = true
			default:
			}
		}
		for !stopped && running < par && len(ready) > 0 {
			node := ready[len(ready)-1]
			ready = ready[:len(ready)-1]
			running++
			go func(node int) {
				finished <- done{node, visit(ctx, node)}
			}(node)
		}
		if running == 0 {
			break // stopped with nothing in flight, or nothing ready
		}
		var d done
		if stopped {
			d = <-finished
		} else {
			select {
			case d = <-finished:
			case <-stop:
				stopped = true
				stop = nil
				continue
			case <-ctx.Done():
				stopped = true
				continue
			}
		}
		running--
		if d.err != nil {
			res.Failed[d.node] = d.err
			release(d.node, d.node)
		} else {
			release(d.node, -1)
		}
	}
	for i := 0; i < n; i++ {
		if !settledNode[i] {
			res.NotStarted = append(res.NotStarted, i)
		}
	}
	return res
}
