package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/state"
	"github.com/hashicorp/hcl/v2"
)

// movedBlocks parses "FROM -> TO" pairs as moved blocks.
func movedBlocks(t *testing.T, pairs ...string) []*config.Moved {
	t.Helper()
	var out []*config.Moved
	for _, p := range pairs {
		from, to, _ := strings.Cut(p, " -> ")
		f, err := config.ParseAddr(from, true)
		if err != nil {
			t.Fatal(err)
		}
		tt, err := config.ParseAddr(to, true)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &config.Moved{From: f, To: tt})
	}
	return out
}

// movedState has a record at each address; typ is the part before the name.
func movedState(addrs ...string) *state.State {
	st := state.New("default")
	for _, a := range addrs {
		parsed, err := config.ParseAddr(a, false)
		if err != nil {
			panic(err)
		}
		st.Instances[a] = &state.Instance{Addr: a, Type: parsed.Type, Status: state.StatusOK}
	}
	return st
}

// TestApplyMovesModules covers moves into, out of and between modules and
// of whole modules, at the state level (module expansion is not needed to
// work out what moves).
func TestApplyMovesModules(t *testing.T) {
	cases := []struct {
		name    string
		state   []string
		blocks  []string
		want    []string // "FROM -> TO" moves
		errText string
		warning string
	}{
		{name: "a step into a module", state: []string{"docker_build.api", "exec.other"},
			blocks: []string{"docker_build.api -> module.api.docker_build.app"},
			want:   []string{"docker_build.api -> module.api.docker_build.app"}},
		{name: "a step out of a module", state: []string{`module.api.exec.test["a"]`},
			blocks: []string{`module.api.exec.test["a"] -> exec.test`},
			want:   []string{`module.api.exec.test["a"] -> exec.test`}},
		{name: "a step between modules with its keys", state: []string{`module.a.exec.x["1"]`, `module.a.exec.x["2"]`, "module.a.exec.y"},
			blocks: []string{"module.a.exec.x -> module.b.exec.x"},
			want:   []string{`module.a.exec.x["1"] -> module.b.exec.x["1"]`, `module.a.exec.x["2"] -> module.b.exec.x["2"]`}},
		{name: "a whole module", state: []string{"module.a.exec.x", `module.a.exec.y["k"]`, "module.ab.exec.x", "exec.x"},
			blocks: []string{"module.a -> module.b"},
			want:   []string{"module.a.exec.x -> module.b.exec.x", `module.a.exec.y["k"] -> module.b.exec.y["k"]`}},
		{name: "a module into a for_each module", state: []string{"module.a.exec.x", "module.a.module.inner.exec.z"},
			blocks: []string{`module.a -> module.svc["a"]`},
			want:   []string{`module.a.exec.x -> module.svc["a"].exec.x`, `module.a.module.inner.exec.z -> module.svc["a"].module.inner.exec.z`}},
		{name: "a for_each module keeps its keys", state: []string{`module.a["x"].exec.x`, `module.a["y"].exec.x`},
			blocks: []string{"module.a -> module.b"},
			want:   []string{`module.a["x"].exec.x -> module.b["x"].exec.x`, `module.a["y"].exec.x -> module.b["y"].exec.x`}},
		{name: "three steps into a module", state: []string{"docker_build.api", "docker_push.api", "k8s_deploy.api"},
			blocks: []string{"docker_build.api -> module.api.docker_build.app", "docker_push.api -> module.api.docker_push.app", "k8s_deploy.api -> module.api.k8s_deploy.app"},
			want:   []string{"docker_build.api -> module.api.docker_build.app", "docker_push.api -> module.api.docker_push.app", "k8s_deploy.api -> module.api.k8s_deploy.app"}},
		{name: "a chain through a module", state: []string{"exec.a"},
			blocks: []string{"module.m.exec.b -> module.n.exec.b", "exec.a -> module.m.exec.b"},
			want:   []string{"exec.a -> module.n.exec.b"}},
		{name: "a chain after a module move", state: []string{"module.a.exec.x"},
			blocks: []string{"module.b.exec.x -> exec.y", "module.a -> module.b"},
			want:   []string{"module.a.exec.x -> exec.y"}},
		{name: "nothing at from", state: []string{"exec.b"},
			blocks: []string{"module.gone -> module.b", "exec.a -> exec.c"}},
		{name: "keyed module instances to one instance", state: []string{`module.a["x"].exec.x`},
			blocks:  []string{`module.a -> module.b["x"]`},
			errText: "The module module.a has 1 instances in the state (for_each)"},
		{name: "a cycle through module addresses", state: []string{"module.a.module.i.exec.x"},
			blocks:  []string{"module.a.module.i -> module.b", "module.b.module.j -> module.a"},
			errText: "part of a cycle"},
		{name: "there and back", state: []string{"module.a.exec.x"},
			blocks: []string{"module.a -> module.b", "module.b.exec.x -> module.a.exec.x"}},
		{name: "a taken destination", state: []string{"module.a.exec.x", "module.b.exec.x"},
			blocks:  []string{"module.a -> module.b"},
			warning: "module.b.exec.x already has a record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := movedState(c.state...)
			moved, moves, diags := applyMoves(st, movedBlocks(t, c.blocks...))
			if c.errText != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), c.errText) {
					t.Fatalf("diagnostics %v, want an error with %q", diags, c.errText)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if c.warning != "" && (len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || !strings.Contains(diags[0].Detail, c.warning)) {
				t.Errorf("diagnostics %v, want a warning with %q", diags, c.warning)
			}
			var got []string
			for _, m := range moves {
				got = append(got, m.From+" -> "+m.To)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("moves:\n%q\nwant\n%q", got, c.want)
			}
			for _, m := range moves {
				if moved.Instances[m.From] != nil || moved.Instances[m.To] == nil || moved.Instances[m.To].Addr != m.To {
					t.Errorf("moved state: %s %v, %s %v", m.From, moved.Instances[m.From], m.To, moved.Instances[m.To])
				}
				if st.Instances[m.From] == nil || st.Instances[m.From].Addr != m.From {
					t.Errorf("the state given to applyMoves changed at %s", m.From)
				}
			}
		})
	}
}

// BenchmarkApplyMoves: 100 modules of 5 steps (each step reading two of
// its module's others) move into one module with for_each, one block per
// module.
func BenchmarkApplyMoves(b *testing.B) {
	st := state.New("default")
	var blocks []*config.Moved
	for m := range 100 {
		mod := fmt.Sprintf("module.s%d", m)
		for s := range 5 {
			addr := fmt.Sprintf("%s.exec.s%d", mod, s)
			deps := []string{fmt.Sprintf("%s.exec.s%d", mod, (s+1)%5), fmt.Sprintf("%s.exec.s%d", mod, (s+2)%5)}
			refs := map[string]string{deps[0] + ".stdout": `"x"`, deps[1] + ".stdout": `"y"`, "var.v": `"1"`}
			st.Instances[addr] = &state.Instance{Addr: addr, Type: "exec", Dependencies: deps, References: refs}
		}
		from, _ := config.ParseAddr(mod, true)
		to, _ := config.ParseAddr(fmt.Sprintf("module.svc[%q]", fmt.Sprint(m)), true)
		blocks = append(blocks, &config.Moved{From: from, To: to})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, moves, diags := applyMoves(st, blocks); diags.HasErrors() || len(moves) != 500 {
			b.Fatalf("%d moves: %v", len(moves), diags)
		}
	}
}
