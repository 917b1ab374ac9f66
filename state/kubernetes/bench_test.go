package kubernetes

import (
	"fmt"
	"testing"
	"time"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/storetest"
)

// Against the local test control plane (hack/testenv):
//
//	go test ./state/kubernetes -run '^$' -bench . -benchtime 5x

func BenchmarkLockUnlock(b *testing.B) {
	client := testClient(b)
	s := newTestStore(b, client, testNamespace(b, client), 0)
	var acquire, release time.Duration
	for b.Loop() {
		t0 := time.Now()
		lock, err := s.Lock(b.Context(), state.NewLockInfo("apply"), false)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := lock.Unlock(); err != nil {
			b.Fatal(err)
		}
		acquire, release = acquire+t1.Sub(t0), release+time.Since(t1)
	}
	b.ReportMetric(float64(acquire.Microseconds())/float64(b.N)/1000, "ms-acquire/op")
	b.ReportMetric(float64(release.Microseconds())/float64(b.N)/1000, "ms-release/op")
}

func stateOf(steps int) *state.State {
	st := storetest.Sample("default")
	for i := range steps {
		in := storetest.Instance(fmt.Sprintf("exec.step[%d]", i))
		st.Instances[in.Addr] = in
	}
	return st
}

func BenchmarkWrite(b *testing.B) {
	for _, steps := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("steps=%d", steps), func(b *testing.B) {
			client := testClient(b)
			s := newTestStore(b, client, testNamespace(b, client), 0)
			st := stateOf(steps)
			for b.Loop() {
				if err := s.Write(b.Context(), st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	for _, steps := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("steps=%d", steps), func(b *testing.B) {
			client := testClient(b)
			s := newTestStore(b, client, testNamespace(b, client), 0)
			if err := s.Write(b.Context(), stateOf(steps)); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.Read(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApply records what an apply of N steps costs the store: one
// Append per step, then the compacting Write, then the Read of the next run.
func BenchmarkApply(b *testing.B) {
	for _, steps := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("steps=%d", steps), func(b *testing.B) {
			client := testClient(b)
			s := newTestStore(b, client, testNamespace(b, client), 0)
			ctx := b.Context()
			for b.Loop() {
				st, err := s.Read(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for i := range steps {
					in := storetest.Instance(fmt.Sprintf("exec.step[%d]", i))
					if err := s.Append(ctx, st.Lineage, state.Change{Instance: in}); err != nil {
						b.Fatal(err)
					}
					st.Apply(state.Change{Instance: in})
				}
				if err := s.Write(ctx, st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
