package state

import (
	"slices"
	"strings"
)

// Rename is one address an instance had before a `moved` block (or a
// saved plan with moves) renamed it: its logs and run history up to run
// Run-1 are under From. State.Moved keeps the last MaxRenames of them.
type Rename struct {
	From string `json:"from"`
	To   string `json:"to"`
	Run  int    `json:"run"` // the apply that recorded the move
}

// MaxRenames bounds State.Moved: older renames are dropped first, so only
// the logs of old runs stop following a long-ago rename.
const MaxRenames = 256

// Rename moves the records named by moves (instance addresses, each From
// to its To, applied together) and rewrites everything in s that names an
// old address: the dependencies and recorded references of every record and
// the approval records. Records are replaced, never changed in place, so a
// shallow copy of s (see Copy) can be renamed without touching s. Moves
// whose From has no record or whose To is taken are left out; the moves
// done are returned. run, when non-zero, is recorded with each move in
// s.Moved so that logs and history follow the new names.
func (s *State) Rename(moves []Move, run int) []Move {
	var done []Move
	to := map[string]string{}
	target := map[string]bool{}
	leaving := make(map[string]bool, len(moves))
	for _, mv := range moves {
		leaving[mv.From] = true
	}
	for _, mv := range moves {
		if mv.From == mv.To || s.Instances[mv.From] == nil || target[mv.To] || to[mv.From] != "" {
			continue
		}
		// A record that moves away (a swap, a chain) frees its address.
		if _, taken := s.Instances[mv.To]; taken && !leaving[mv.To] {
			continue
		}
		to[mv.From] = mv.To
		target[mv.To] = true
		done = append(done, mv)
	}
	if len(done) == 0 {
		return nil
	}
	recs := make(map[string]*Instance, len(done))
	for _, mv := range done {
		recs[mv.From] = s.Instances[mv.From]
		delete(s.Instances, mv.From)
	}
	for _, mv := range done {
		in := *recs[mv.From]
		in.Addr = mv.To
		s.Instances[mv.To] = &in
	}
	steps := stepRenames(done)
	for addr, in := range s.Instances {
		if c := renameRefs(in, to, steps); c != nil {
			s.Instances[addr] = c
		}
	}
	s.renameApprovals(to, steps)
	if run != 0 {
		for _, mv := range done {
			s.Moved = append(s.Moved, Rename{From: mv.From, To: mv.To, Run: run})
		}
		if n := len(s.Moved); n > MaxRenames {
			s.Moved = slices.Clone(s.Moved[n-MaxRenames:])
		}
	}
	return done
}

// stepRenames are the step addresses that moved as a whole with their
// instance keys (exec.x["a"] -> exec.y["a"] for every key): dependencies
// recorded by step address (for_each steps) follow them.
func stepRenames(moves []Move) map[string]string {
	out := map[string]string{}
	bad := map[string]bool{}
	for _, mv := range moves {
		fs, fk := splitKey(mv.From)
		ts, tk := splitKey(mv.To)
		if fk == "" || fk != tk {
			continue
		}
		if prev, ok := out[fs]; ok && prev != ts {
			bad[fs] = true
		}
		out[fs] = ts
	}
	for s := range bad {
		delete(out, s)
	}
	return out
}

// splitKey cuts an instance address into its step address and its key part
// (`["a"]`, or "" without a key).
func splitKey(addr string) (string, string) {
	if !strings.HasSuffix(addr, "]") {
		return addr, ""
	}
	// The key is the last bracket that does not sit inside a quoted key.
	i := strings.LastIndex(addr, `["`)
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i:]
}

// renamed is addr after the moves: an instance (to) or a step (steps)
// address, or a reference name starting with one (exec.x.stdout,
// exec.x["a"].stdout). The longest match wins: the prefixes of addr that
// end before a "." or "[" are looked up, longest first.
func renamed(addr string, to, steps map[string]string) (string, bool) {
	for i := len(addr); i > 0; i-- {
		if i < len(addr) && addr[i] != '.' && addr[i] != '[' {
			continue
		}
		prefix := addr[:i]
		t, ok := to[prefix]
		if !ok {
			t, ok = steps[prefix]
		}
		if ok {
			return t + addr[i:], true
		}
	}
	return addr, false
}

// renameRefs returns a copy of in with its dependencies and reference names
// renamed, or nil when none of them moved.
func renameRefs(in *Instance, to, steps map[string]string) *Instance {
	var deps []string
	for i, d := range in.Dependencies {
		if t, ok := renamed(d, to, steps); ok {
			if deps == nil {
				deps = slices.Clone(in.Dependencies)
			}
			deps[i] = t
		}
	}
	var refs map[string]string
	for name := range in.References {
		if _, ok := renamed(name, to, steps); ok {
			refs = make(map[string]string, len(in.References))
			for n, v := range in.References {
				n, _ = renamed(n, to, steps)
				refs[n] = v
			}
			break
		}
	}
	if deps == nil && refs == nil {
		return nil
	}
	c := *in
	if deps != nil {
		c.Dependencies = deps
	}
	if refs != nil {
		c.References = refs
	}
	return &c
}

// renameApprovals moves the approval records of renamed steps.
func (s *State) renameApprovals(to, steps map[string]string) {
	if len(s.Approvals) == 0 {
		return
	}
	out := make(map[string]*Approval, len(s.Approvals))
	changed := false
	for addr, a := range s.Approvals {
		if t, ok := renamed(addr, to, steps); ok {
			c := *a
			c.Addr = t
			out[t] = &c
			changed = true
			continue
		}
		out[addr] = a
	}
	if changed {
		s.Approvals = out
	}
}

// Copy is a copy of s that Rename can change without changing s: the maps
// and lists are new, the records shared.
func (s *State) Copy() *State {
	c := *s
	c.Instances = make(map[string]*Instance, len(s.Instances))
	for k, v := range s.Instances {
		c.Instances[k] = v
	}
	if s.Approvals != nil {
		c.Approvals = make(map[string]*Approval, len(s.Approvals))
		for k, v := range s.Approvals {
			c.Approvals[k] = v
		}
	}
	c.Moved = slices.Clone(s.Moved)
	c.Runs = slices.Clone(s.Runs)
	return &c
}

// NameIn is the address that the instance now at addr had during run: the
// name its logs of that run are under.
func (s *State) NameIn(addr string, run int) string {
	for i := len(s.Moved) - 1; i >= 0; i-- {
		if r := s.Moved[i]; r.To == addr && r.Run > run {
			addr = r.From
		}
	}
	return addr
}

// NameNow is the address that the instance called addr during run has
// now, following the renames recorded since.
func (s *State) NameNow(addr string, run int) string {
	for _, r := range s.Moved {
		if r.From == addr && r.Run > run {
			addr = r.To
		}
	}
	return addr
}
