package state_test

import (
	"fmt"
	"testing"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/storetest"
)

// bigState returns a state of n instances.
func bigState(n int) *state.State {
	s := storetest.Sample("default")
	for i := range n {
		in := storetest.Instance(fmt.Sprintf(`docker_run.test["case%05d"]`, i))
		s.Instances[in.Addr] = in
	}
	return s
}

// writeBig stores a state of n instances in a new Local.
func writeBig(b *testing.B, n int) (*state.Local, *state.State, string) {
	b.Helper()
	dir := b.TempDir()
	l := state.NewLocal(dir, "default")
	b.Cleanup(func() { l.Close() })
	s := bigState(n)
	if err := l.Write(b.Context(), s); err != nil {
		b.Fatal(err)
	}
	return l, s, dir
}

// BenchmarkAppend is the cost of recording one finished step in a state of
// 10,000 instances: with group commit (the default) and with an fsync per
// Append.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []state.LocalOption
	}{
		{"GroupCommit", nil},
		{"SyncEach", []state.LocalOption{state.WithSyncInterval(0)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			_, s, dir := writeBig(b, 10_000)
			l := state.NewLocal(dir, "default", bc.opts...)
			defer l.Close()
			in := storetest.Instance(`docker_run.test["case00042"]`)
			c := state.Change{Instance: in}
			// The first Append reads the state that the Write of
			// another Local left; time only the steady state.
			if err := l.Append(b.Context(), s.Lineage, c); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				in.Attempts++
				if err := l.Append(b.Context(), s.Lineage, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWrite10k is the cost of a snapshot of 10,000 instances.
func BenchmarkWrite10k(b *testing.B) {
	l, s, _ := writeBig(b, 10_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Write(b.Context(), s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead10k is the cost of reading a snapshot of 10,000 instances
// with a journal of 1,000 records.
func BenchmarkRead10k(b *testing.B) {
	l, s, _ := writeBig(b, 10_000)
	for i := range 1000 {
		in := storetest.Instance(fmt.Sprintf(`docker_run.test["case%05d"]`, i))
		if err := l.Append(b.Context(), s.Lineage, state.Change{Instance: in}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := l.Read(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if got.Serial != s.Serial+1000 {
			b.Fatalf("serial %d, want %d", got.Serial, s.Serial+1000)
		}
	}
}
