package graph

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// diamond: a <- b, a <- c, b,c <- d ; e independent.
func diamond() *Graph {
	g := New(5)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		g.AddNode(n)
	}
	g.AddEdge(1, 0)
	g.AddEdge(2, 0)
	g.AddEdge(3, 1)
	g.AddEdge(3, 2)
	return g
}

func TestWalkOrder(t *testing.T) {
	g := diamond()
	var mu sync.Mutex
	doneAt := map[int]int{}
	step := 0
	res := g.Walk(context.Background(), WalkOptions{Parallelism: 4}, func(ctx context.Context, n int) error {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range g.Deps(n) {
			if _, ok := doneAt[d]; !ok {
				t.Errorf("%s visited before its dependency %s", g.Name(n), g.Name(d))
			}
		}
		step++
		doneAt[n] = step
		return nil
	})
	if !res.OK() || len(doneAt) != 5 {
		t.Fatalf("walk result %+v, visited %d of 5", res, len(doneAt))
	}
}

func TestWalkFailurePropagation(t *testing.T) {
	g := diamond()
	boom := errors.New("boom")
	var visited sync.Map
	res := g.Walk(context.Background(), WalkOptions{Parallelism: 2}, func(ctx context.Context, n int) error {
		visited.Store(g.Name(n), true)
		if g.Name(n) == "b" {
			return boom
		}
		return nil
	})
	if res.Failed[1] != boom {
		t.Errorf("b should have failed, got %v", res.Failed)
	}
	if cause, ok := res.Skipped[3]; !ok || cause != 1 {
		t.Errorf("d should be skipped because of b, got %v", res.Skipped)
	}
	for _, want := range []string{"a", "b", "c", "e"} {
		if _, ok := visited.Load(want); !ok {
			t.Errorf("%s (independent of the failure) was not visited", want)
		}
	}
	if _, ok := visited.Load("d"); ok {
		t.Error("d was visited although b failed")
	}
}

func TestWalkParallelismBound(t *testing.T) {
	for _, par := range []int{1, 3, 10} {
		t.Run(fmt.Sprint(par), func(t *testing.T) {
			g := New(50)
			for i := 0; i < 50; i++ {
				g.AddNode(fmt.Sprint(i))
			}
			var cur, peak atomic.Int32
			g.Walk(context.Background(), WalkOptions{Parallelism: par}, func(ctx context.Context, n int) error {
				c := cur.Add(1)
				for {
					p := peak.Load()
					if c <= p || peak.CompareAndSwap(p, c) {
						break
					}
				}
				time.Sleep(time.Millisecond)
				cur.Add(-1)
				return nil
			})
			if int(peak.Load()) > par {
				t.Errorf("peak concurrency %d > parallelism %d", peak.Load(), par)
			}
			if par > 1 && peak.Load() < 2 {
				t.Errorf("peak concurrency %d: nodes never ran in parallel", peak.Load())
			}
		})
	}
}

func TestWalkStop(t *testing.T) {
	g := New(3)
	g.AddNode("a")
	g.AddNode("b")
	g.AddNode("c")
	g.AddEdge(1, 0)
	g.AddEdge(2, 1)
	stop := make(chan struct{})
	res := g.Walk(context.Background(), WalkOptions{Parallelism: 1, Stop: stop}, func(ctx context.Context, n int) error {
		if n == 0 {
			close(stop) // Ctrl-C while a runs: a finishes, b and c never start
		}
		return nil
	})
	got := append([]int(nil), res.NotStarted...)
	sort.Ints(got)
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("NotStarted = %v, want [1 2]", got)
	}
}

func TestCycleAndTopo(t *testing.T) {
	g := diamond()
	if c := g.Cycle(); c != nil {
		t.Fatalf("unexpected cycle %v", c)
	}
	order, err := g.TopoOrder()
	if err != nil || len(order) != 5 {
		t.Fatalf("TopoOrder = %v, %v", order, err)
	}
	g.AddEdge(0, 3) // a -> d closes a -> d -> b -> a
	c := g.Cycle()
	if len(c) < 2 {
		t.Fatalf("cycle not found: %v", c)
	}
	for i, n := range c {
		next := c[(i+1)%len(c)]
		found := false
		for _, d := range g.Deps(n) {
			found = found || d == next
		}
		if !found {
			t.Errorf("cycle %v: %s does not depend on %s", c, g.Name(n), g.Name(next))
		}
	}
	if _, err := g.TopoOrder(); err == nil {
		t.Error("TopoOrder of a cyclic graph should fail")
	}
}

func BenchmarkWalkFan10k(b *testing.B) {
	g := New(10000)
	for i := 0; i < 10000; i++ {
		g.AddNode("n")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.Walk(context.Background(), WalkOptions{Parallelism: 10}, func(context.Context, int) error { return nil })
	}
}

func BenchmarkWalkChain10k(b *testing.B) {
	g := New(10000)
	for i := 0; i < 10000; i++ {
		g.AddNode("n")
		if i > 0 {
			g.AddEdge(i, i-1)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.Walk(context.Background(), WalkOptions{Parallelism: 10}, func(context.Context, int) error { return nil })
	}
}
