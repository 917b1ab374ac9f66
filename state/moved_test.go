package state_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/ansflow/ansflow/state"
)

func renameState() *state.State {
	st := state.New("default")
	add := func(addr, typ string, deps []string, refs map[string]string) {
		st.Instances[addr] = &state.Instance{Addr: addr, Type: typ, Dependencies: deps, References: refs}
	}
	add("exec.a", "exec", nil, nil)
	add(`exec.x["k"]`, "exec", nil, nil)
	add(`exec.x["l"]`, "exec", nil, nil)
	add("exec.down", "exec", []string{"exec.a", "exec.x", "exec.ab"},
		map[string]string{"exec.a.stdout": `"hi"`, `exec.x["k"].stdout`: `"k"`, "exec.ab.stdout": `"ab"`, "var.v": `"1"`})
	add("exec.ab", "exec", nil, nil)
	st.Approvals = map[string]*state.Approval{"exec.a": {Addr: "exec.a"}}
	return st
}

// TestRename: records move, and what names them follows; the state copied
// before keeps the old names.
func TestRename(t *testing.T) {
	tests := []struct {
		name     string
		moves    []state.Move
		done     int
		wantDeps []string
		wantRefs []string
	}{
		{name: "a step", moves: []state.Move{{From: "exec.a", To: "module.m.exec.a"}}, done: 1,
			wantDeps: []string{"module.m.exec.a", "exec.x", "exec.ab"},
			wantRefs: []string{"exec.ab.stdout", `exec.x["k"].stdout`, "module.m.exec.a.stdout", "var.v"}},
		{name: "all instances of a step", moves: []state.Move{{From: `exec.x["k"]`, To: `exec.y["k"]`}, {From: `exec.x["l"]`, To: `exec.y["l"]`}}, done: 2,
			wantDeps: []string{"exec.a", "exec.y", "exec.ab"},
			wantRefs: []string{"exec.a.stdout", "exec.ab.stdout", `exec.y["k"].stdout`, "var.v"}},
		{name: "one key", moves: []state.Move{{From: `exec.x["k"]`, To: `exec.x["m"]`}}, done: 1,
			wantDeps: []string{"exec.a", "exec.x", "exec.ab"},
			wantRefs: []string{"exec.a.stdout", "exec.ab.stdout", `exec.x["m"].stdout`, "var.v"}},
		{name: "a swap", moves: []state.Move{{From: "exec.a", To: "exec.ab"}, {From: "exec.ab", To: "exec.a"}}, done: 2,
			wantDeps: []string{"exec.ab", "exec.x", "exec.a"},
			wantRefs: []string{"exec.a.stdout", "exec.ab.stdout", `exec.x["k"].stdout`, "var.v"}},
		{name: "taken and missing", moves: []state.Move{{From: "exec.a", To: "exec.ab"}, {From: "exec.gone", To: "exec.new"}},
			wantDeps: []string{"exec.a", "exec.x", "exec.ab"},
			wantRefs: []string{"exec.a.stdout", "exec.ab.stdout", `exec.x["k"].stdout`, "var.v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := renameState()
			st := orig.Copy()
			done := st.Rename(tt.moves, 3)
			if len(done) != tt.done {
				t.Fatalf("Rename did %v, want %d moves", done, tt.done)
			}
			for _, m := range done {
				if in := st.Instances[m.To]; in == nil || in.Addr != m.To {
					t.Errorf("%s after the move: %+v", m.To, in)
				}
			}
			down := st.Instances["exec.down"]
			if !slices.Equal(down.Dependencies, tt.wantDeps) {
				t.Errorf("dependencies %q, want %q", down.Dependencies, tt.wantDeps)
			}
			if refs := slices.Sorted(maps.Keys(down.References)); !slices.Equal(refs, tt.wantRefs) {
				t.Errorf("references %q, want %q", refs, tt.wantRefs)
			}
			if len(st.Moved) != len(done) {
				t.Errorf("renames recorded: %v", st.Moved)
			}
			// The original is untouched.
			if o := orig.Instances["exec.down"]; !slices.Equal(o.Dependencies, []string{"exec.a", "exec.x", "exec.ab"}) || o.References["exec.a.stdout"] == "" ||
				orig.Instances["exec.a"].Addr != "exec.a" || orig.Approvals["exec.a"] == nil || len(orig.Moved) != 0 {
				t.Errorf("Rename changed the state it was copied from")
			}
		})
	}
}

// TestRenameNames: logs of earlier runs are found under the old names, and
// old runs' steps are shown under the new ones; the list stays bounded.
func TestRenameNames(t *testing.T) {
	st := renameState()
	st.Apply(state.Change{RunNumber: 4, Moves: []state.Move{{From: "exec.a", To: "exec.b"}}})
	st.Apply(state.Change{RunNumber: 6, Moves: []state.Move{{From: "exec.b", To: "exec.c"}}})
	if st.Approvals["exec.c"] == nil || st.Approvals["exec.c"].Addr != "exec.c" {
		t.Errorf("approvals %v", st.Approvals)
	}
	for _, tt := range []struct {
		run        int
		in, now    string
		inName     string
		nowOfOldIn string
	}{
		{run: 3, in: "exec.c", inName: "exec.a", now: "exec.a", nowOfOldIn: "exec.c"},
		{run: 4, in: "exec.c", inName: "exec.b", now: "exec.b", nowOfOldIn: "exec.c"},
		{run: 5, in: "exec.c", inName: "exec.b", now: "exec.b", nowOfOldIn: "exec.c"},
		{run: 6, in: "exec.c", inName: "exec.c", now: "exec.c", nowOfOldIn: "exec.c"},
	} {
		if got := st.NameIn(tt.in, tt.run); got != tt.inName {
			t.Errorf("NameIn(%s, %d) = %s, want %s", tt.in, tt.run, got, tt.inName)
		}
		if got := st.NameNow(tt.now, tt.run); got != tt.nowOfOldIn {
			t.Errorf("NameNow(%s, %d) = %s, want %s", tt.now, tt.run, got, tt.nowOfOldIn)
		}
	}
	for i := range state.MaxRenames + 10 {
		st.Instances[fmt.Sprint("exec.n", i)] = &state.Instance{Addr: fmt.Sprint("exec.n", i)}
		st.Apply(state.Change{Moves: []state.Move{{From: fmt.Sprint("exec.n", i), To: fmt.Sprint("exec.m", i)}}})
	}
	if len(st.Moved) != state.MaxRenames || st.Moved[len(st.Moved)-1].To != fmt.Sprint("exec.m", state.MaxRenames+9) {
		t.Errorf("%d renames kept, last %v", len(st.Moved), st.Moved[len(st.Moved)-1])
	}
}
