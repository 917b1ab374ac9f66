package config

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// blockMoved is moved { from = ADDR  to = ADDR }: the state of a step (or
// of every step in a module) follows a rename, so nothing reruns.
const blockMoved = "moved"

// Moved is a moved block. From and To are both steps (with or without an
// instance key) or both modules (module.a, module.svc["a"]); a step keeps
// its type.
type Moved struct {
	From, To           Addr
	FromRange, ToRange hcl.Range
	DeclRange          hcl.Range
}

// decodeMoved reads one moved block; checkMoved checks the blocks against
// each other and the steps once every file is read.
func (l *loader) decodeMoved(b *hclsyntax.Block) {
	if !l.checkLabels(b, false) {
		return
	}
	if l.p.IsModule() {
		l.errorf(b.DefRange(), "Moved block in a module",
			"moved blocks belong in the root pipeline: move this one there and write both addresses in full, with the module path (for example from = module.api.exec.old  to = module.api.exec.new).")
		return
	}
	before := len(l.diags)
	l.checkBody(b.Body, b.DefRange(), bodyRule{where: "a moved block", attrs: []string{"from", "to"}, required: []string{"from", "to"}})
	if len(l.diags) > before {
		return
	}
	m := &Moved{DeclRange: b.DefRange()}
	var ok [2]bool
	m.From, m.FromRange, ok[0] = l.movedAddr(b.Body.Attributes["from"])
	m.To, m.ToRange, ok[1] = l.movedAddr(b.Body.Attributes["to"])
	if ok[0] && ok[1] && l.checkMovedPair(m) {
		l.p.Moved = append(l.p.Moved, m)
	}
}

// movedAddr reads the from or to address of a moved block: a bare
// traversal such as exec.build, exec.build["a"] or module.api.
func (l *loader) movedAddr(a *hclsyntax.Attribute) (Addr, hcl.Range, bool) {
	rng := a.Expr.Range()
	if _, quoted := a.Expr.(*hclsyntax.TemplateExpr); quoted {
		l.errorf(rng, "Invalid moved address",
			"%s is written as a string; write the address without quotes, like %s = exec.build or %s = module.api.docker_build.app.", a.Name, a.Name, a.Name)
		return Addr{}, rng, false
	}
	trav, diags := hcl.AbsTraversalForExpr(a.Expr)
	if diags.HasErrors() {
		l.errorf(rng, "Invalid moved address",
			"%s must be a step or module address, like exec.build, exec.build[\"a\"], module.api.docker_build.app or module.api; it cannot be computed.", a.Name)
		return Addr{}, rng, false
	}
	addr, err := ParseAddr(TraversalString(trav), true)
	if err != nil {
		l.errorf(rng, "Invalid moved address", "%s: %s.", a.Name, err)
		return Addr{}, rng, false
	}
	return addr, rng, true
}

// checkMovedPair checks that a block's from and to fit together.
func (l *loader) checkMovedPair(m *Moved) bool {
	from, to := m.From, m.To
	switch {
	case from.String() == to.String():
		l.errorf(m.ToRange, "Redundant moved block",
			"from and to are both %s, so the block moves nothing; remove it, or correct one of the addresses.", from)
	case from.IsModule() != to.IsModule():
		kind := func(a Addr) string {
			if a.IsModule() {
				return "a module"
			}
			return "a step"
		}
		l.errorf(m.ToRange, "Invalid moved block",
			"%s is %s but %s is %s; move a step to a step address (TYPE.NAME, with module.NAME. in front inside a module) and a module to a module address (module.NAME).",
			from, kind(from), to, kind(to))
	case !from.IsModule() && from.Type != to.Type:
		l.errorf(m.ToRange, "A step cannot change its type",
			"%s is of type %s and %s of type %s; a moved block only renames. Keep the type %s in to, or remove the block to let the plan delete %s and create %s.",
			from, from.Type, to, to.Type, from.Type, from, to)
	default:
		return true
	}
	return false
}

// checkMoved checks the moved blocks against each other and the steps: one
// block per from address, no cycles, and no from that is still declared.
func (l *loader) checkMoved() {
	seen := map[string]*Moved{}
	next := map[string]*Moved{}
	for _, m := range l.p.Moved {
		from := m.From.String()
		if prev, ok := seen[from]; ok {
			l.errorf(m.FromRange, "Duplicate moved block",
				"%s is already moved at %s; an address can move to one place only: keep one of the blocks.", from, prev.DeclRange)
			continue
		}
		seen[from] = m
		next[from] = m
		// exec.x -> exec.x["k"] (for_each added) keeps the step.
		if len(m.From.Module) == 0 && !m.From.IsModule() && !m.From.Key.Valid && m.From.StepAddr() != m.To.StepAddr() {
			if s, ok := l.p.Steps[m.From.StepAddr()]; ok {
				l.errorf(m.FromRange, "Moved step still exists",
					"%s is still declared at %s; a moved block is for a step whose block was renamed. Rename the block to %s, or remove the moved block.",
					from, s.DeclRange, m.To)
			}
		}
	}
	reported := map[*Moved]bool{}
	for _, m := range l.p.Moved {
		chain := []string{m.From.String()}
		for cur := next[m.To.String()]; cur != nil && !reported[m]; cur = next[cur.To.String()] {
			chain = append(chain, cur.From.String())
			if cur == m {
				for _, c := range chain {
					reported[next[c]] = true
				}
				l.errorf(m.DeclRange, "Cyclic moved blocks",
					"The moved blocks form a cycle (%s); an address cannot move back to where it came from: remove one of the blocks.", strings.Join(chain, " -> "))
				break
			}
			if len(chain) > len(l.p.Moved) {
				break
			}
		}
	}
}
