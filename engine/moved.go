package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/state"
	"github.com/hashicorp/hcl/v2"
)

// Move is one step instance whose record moves to a new address because of
// moved blocks: From is its address in the state, To its address in the
// configuration. A chain of blocks (a -> b, b -> c) is one Move (a -> c).
type Move = state.Move

// applyMoves works out what the moved blocks do to st: the instance
// records they rename, as one list of moves from the address in st to the
// final address, and returns a copy of st with them made (st itself is
// left alone). Blocks run in chain order (a block whose from lies inside
// another's to runs after it). A block whose from has nothing in st does
// nothing; one whose to already has a record is skipped with a warning.
func applyMoves(st *state.State, moves []*config.Moved) (*state.State, []Move, hcl.Diagnostics) {
	if len(moves) == 0 {
		return st, nil, nil
	}
	order, diags := moveOrder(moves)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	// The blocks run one after the other on the addresses alone; the
	// records are renamed once, with the moves they add up to.
	cur := make(map[string]bool, len(st.Instances))
	for addr := range st.Instances {
		cur[addr] = true
	}
	origin := map[string]string{} // address in st, by address in cur
	for _, m := range order {
		pairs, mdiags := matchMove(cur, m)
		diags = append(diags, mdiags...)
		if mdiags.HasErrors() || len(pairs) == 0 {
			continue
		}
		if d := takenTarget(cur, m, pairs); d != nil {
			diags = append(diags, d)
			continue
		}
		movePairs(cur, origin, pairs)
	}
	if diags.HasErrors() {
		return nil, nil, diags
	}
	var out []Move
	for to, from := range origin {
		if from != to {
			out = append(out, Move{From: from, To: to})
		}
	}
	slices.SortFunc(out, func(a, b Move) int { return strings.Compare(a.From, b.From) })
	if len(out) == 0 {
		return st, nil, diags
	}
	// The plan is made against the moves made all at once, exactly as
	// apply records them (State.Apply of a Change with Moves).
	moved := st.Copy()
	moved.Rename(out, 0)
	return moved, out, diags
}

// movePairs makes the moves of one block on the addresses in cur, and
// keeps track of where each record was in the state (origin).
func movePairs(cur map[string]bool, origin map[string]string, pairs []Move) {
	from := make([]string, len(pairs))
	for i, p := range pairs {
		from[i] = p.From
		if o, ok := origin[p.From]; ok {
			from[i] = o
		}
		delete(origin, p.From)
		delete(cur, p.From)
	}
	for i, p := range pairs {
		origin[p.To] = from[i]
		cur[p.To] = true
	}
}

// moveOrigins maps each final address of moves to the block that moved
// its record first, for diagnostics about the result.
func moveOrigins(moves []Move, blocks []*config.Moved) map[string]*config.Moved {
	out := make(map[string]*config.Moved, len(moves))
	for _, mv := range moves {
		for _, b := range blocks {
			if within(mv.From, b.From.String(), b.From) {
				out[mv.To] = b
				break
			}
		}
	}
	return out
}

// moveOrder sorts the blocks so that one whose from lies inside another's
// to comes after it; blocks that do not depend on each other keep their
// order. Cycles (that config.Load did not already refuse: through module
// addresses) are a diagnostic.
func moveOrder(moves []*config.Moved) ([]*config.Moved, hcl.Diagnostics) {
	var order []*config.Moved
	mark := make(map[*config.Moved]int, len(moves)) // 1 visiting, 2 done
	from := make(map[*config.Moved]string, len(moves))
	to := make(map[*config.Moved]string, len(moves))
	for _, m := range moves {
		from[m], to[m] = m.From.String(), m.To.String()
	}
	var visit func(m *config.Moved) *hcl.Diagnostic
	visit = func(m *config.Moved) *hcl.Diagnostic {
		switch mark[m] {
		case 1:
			return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cyclic moved blocks", Subject: m.DeclRange.Ptr(),
				Detail: fmt.Sprintf("The moved block from %s to %s is part of a cycle of moved blocks; an address cannot move back to where it came from: remove one of the blocks.", m.From, m.To)}
		case 2:
			return nil
		}
		mark[m] = 1
		for _, before := range moves {
			if before != m && within(from[m], to[before], before.To) {
				if d := visit(before); d != nil {
					return d
				}
			}
		}
		mark[m] = 2
		order = append(order, m)
		return nil
	}
	for _, m := range moves {
		if d := visit(m); d != nil {
			return nil, hcl.Diagnostics{d}
		}
	}
	return order, nil
}

// within reports whether the instance address addr is a, or lies inside
// it: an instance of the step a (a without a key), or any instance in the
// module a. prefix is a.String().
func within(addr, prefix string, a config.Addr) bool {
	if addr == prefix {
		return true
	}
	if !strings.HasPrefix(addr, prefix) || len(addr) == len(prefix) {
		return false
	}
	rest := addr[len(prefix):]
	return rest[0] == '.' && a.IsModule() || expands(rest, a)
}

// expands reports whether rest, what follows a's address in an instance
// address, is a for_each key of a itself: `["k"]` after a step address,
// `["k"].` and more after a module address, when a has no key.
func expands(rest string, a config.Addr) bool {
	if !strings.HasPrefix(rest, `["`) {
		return false
	}
	if !a.IsModule() {
		_, err := strconv.Unquote(rest[1 : len(rest)-1])
		return !a.Key.Valid && strings.HasSuffix(rest, "]") && err == nil
	}
	if a.Module[len(a.Module)-1].Key.Valid {
		return false
	}
	end := strings.Index(rest, `"].`)
	if end < 0 {
		return false
	}
	_, err := strconv.Unquote(rest[1 : end+1])
	return err == nil
}

// matchMove lists the records of cur that block m moves, each with its new
// address. A from without a key stands for all instances of its step or
// module, keys kept, unless to has a key: then it is the instance without a
// key (exec.x -> exec.x["k"] when for_each is added).
func matchMove(cur map[string]bool, m *config.Moved) ([]Move, hcl.Diagnostics) {
	from, to := m.From.String(), m.To.String()
	toKeyed := m.To.Key.Valid
	if m.To.IsModule() {
		toKeyed = m.To.Module[len(m.To.Module)-1].Key.Valid
	}
	var out []Move
	keyed := 0
	for addr := range cur {
		if !within(addr, from, m.From) {
			continue
		}
		rest := addr[len(from):]
		if expands(rest, m.From) {
			keyed++
			if toKeyed {
				continue
			}
		}
		out = append(out, Move{From: addr, To: to + rest})
	}
	slices.SortFunc(out, func(a, b Move) int { return strings.Compare(a.From, b.From) })
	if len(out) == 0 && keyed > 0 && toKeyed && !sameBase(m.From, m.To) {
		what := "step"
		if m.From.IsModule() {
			what = "module"
		}
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot move instances to one instance", Subject: m.ToRange.Ptr(),
			Detail: fmt.Sprintf("The %s %s has %d instances in the state (for_each), so it cannot move to the single instance %s. Move it to an address without a key to keep its keys, or move one instance at a time (from = %s[\"KEY\"]).",
				what, from, keyed, to, from)}}
	}
	return out, nil
}

// sameBase reports whether to is an instance of from itself (exec.x and
// exec.x["k"], module.a and module.a["k"]): after such a move, the keyed
// records are its result.
func sameBase(from, to config.Addr) bool {
	if !to.IsModule() {
		return from.StepAddr() == to.StepAddr()
	}
	t := to
	t.Module = slices.Clone(to.Module)
	t.Module[len(t.Module)-1].Key = config.NoKey
	return t.String() == from.String()
}

// takenTarget is the warning for a block whose destination already has a
// record: Terraform's rule, the block is skipped and both records stay.
func takenTarget(cur map[string]bool, m *config.Moved, pairs []Move) *hcl.Diagnostic {
	leaving := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		leaving[p.From] = true
	}
	for _, p := range pairs {
		if cur[p.To] && !leaving[p.To] {
			return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Moved target already in the state", Subject: m.DeclRange.Ptr(),
				Detail: fmt.Sprintf("%s already has a record, so this block (from %s to %s) was skipped: the record of %s stays at its address. Remove the record you do not want with `ansflow state rm ADDR`, or remove the block.",
					p.To, m.From, m.To, p.From)}
		}
	}
	return nil
}

// checkMovedFrom refuses moves whose old address is still configured (an
// instance of a for_each step whose key is still there): the plan would
// create it again next to the moved record.
func (w *world) checkMovedFrom(moves []Move, blocks []*config.Moved) hcl.Diagnostics {
	var diags hcl.Diagnostics
	origins := moveOrigins(moves, blocks)
	for _, mv := range moves {
		if in := w.byAddr[mv.From]; in == nil || in.orphan {
			continue
		}
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Moved step still exists",
			Detail: fmt.Sprintf("%s is still in the configuration, so its record cannot move to %s. Remove or rename it (for a for_each key: drop the key from for_each), or remove the moved block.", mv.From, mv.To)}
		if b := origins[mv.To]; b != nil {
			d.Subject = b.FromRange.Ptr()
		}
		diags = append(diags, d)
	}
	return diags
}

// markMovedFrom sets MovedFrom on the changes of the moved instances.
func markMovedFrom(changes []*Change, moves []Move) {
	if len(moves) == 0 {
		return
	}
	from := make(map[string]string, len(moves))
	for _, m := range moves {
		from[m.To] = m.From
	}
	for _, c := range changes {
		c.MovedFrom = from[c.Addr]
	}
}

// verifyMoves checks at apply that the moved blocks still make the moves
// the plan recorded.
func verifyMoves(st *state.State, blocks []*config.Moved, planned []Move) (*state.State, *StalePlanError) {
	moved, now, diags := applyMoves(st, blocks)
	if diags.HasErrors() {
		return nil, &StalePlanError{Reason: "the moved blocks no longer apply: " + (&diagError{diags}).Error()}
	}
	if !slices.Equal(now, planned) {
		return nil, &StalePlanError{Reason: fmt.Sprintf("the moved blocks now move %d step instance(s), the plan %d", len(now), len(planned))}
	}
	return moved, nil
}
