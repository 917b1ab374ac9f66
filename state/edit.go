package state

import (
	"fmt"
	"slices"
	"strings"
)

// NotInState is the error for an address st has no record of.
func NotInState(addr string, st *State) error {
	if to := st.NameNow(addr, 0); to != addr && st.Instances[to] != nil {
		return fmt.Errorf("%s is not in the state: a moved block renamed it to %s; use that address", addr, to)
	}
	return fmt.Errorf("%s is not in the state; `ansflow state list` shows what is (%d records)", addr, len(st.Instances))
}

// InstancesOf is the record at addr, or, for the address of a step with
// for_each, the records of all its instances, or, for the address of a
// module (module.api, module.svc["a"]), the records of everything inside
// it, in address order.
func (s *State) InstancesOf(addr string) []string {
	if _, ok := s.Instances[addr]; ok {
		return []string{addr}
	}
	var out []string
	for a := range s.Instances {
		if strings.HasPrefix(a, addr+"[") || strings.HasPrefix(a, addr+".") {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// RemoveInstance forgets the record at addr (for a step with for_each, the
// records of all its instances), leaving alone whatever its step created.
// It returns the addresses it removed.
func (s *State) RemoveInstance(addr string) ([]string, error) {
	matched := s.InstancesOf(addr)
	if len(matched) == 0 {
		return nil, NotInState(addr, s)
	}
	for _, m := range matched {
		delete(s.Instances, m)
	}
	return matched, nil
}

// Move is one record moved to another address (by MoveInstance, or by a
// `moved` block: see Rename).
type Move struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// MoveInstance moves the record at src to dst, after a step was renamed,
// and makes the records depending on src depend on dst (see Rename). The address of a
// step with for_each moves all its instances, keeping their keys. The step
// type must stay the same and every destination must be free; nothing is
// moved otherwise.
func (s *State) MoveInstance(src, dst string) ([]Move, error) {
	matched := s.InstancesOf(src)
	if len(matched) == 0 {
		return nil, NotInState(src, s)
	}
	if matched[0] != src && strings.HasSuffix(dst, "]") && stepType(src) != "" {
		return nil, fmt.Errorf("%s stands for %d instances; move them to a step address without a key, or move one instance at a time", src, len(matched))
	}
	moves := make([]Move, 0, len(matched))
	for _, m := range matched {
		d := dst + m[len(src):]
		if _, taken := s.Instances[d]; taken {
			return nil, fmt.Errorf("%s already has a record; remove it first with `ansflow state rm %s`", d, d)
		}
		if typ := stepType(d); typ != s.Instances[m].Type {
			return nil, fmt.Errorf("cannot move a %s record to %s: the step type must stay the same", s.Instances[m].Type, d)
		}
		moves = append(moves, Move{From: m, To: d})
	}
	// The renames are recorded for the next run: logs of the runs so far
	// are under the old addresses.
	s.Rename(moves, s.RunNumber+1)
	return moves, nil
}

// stepType is the step type in an instance address: TYPE in
// [module.NAME["KEY"]. ...]TYPE.NAME["KEY"]; "" for a module address.
func stepType(addr string) string {
	for {
		rest, ok := strings.CutPrefix(addr, "module.")
		if !ok {
			break
		}
		i := strings.IndexAny(rest, ".[")
		if i < 0 {
			return "" // a module alone
		}
		rest = rest[i:]
		if rest[0] == '[' {
			rest = skipKey(rest)
		}
		addr = strings.TrimPrefix(rest, ".")
	}
	typ, _, _ := strings.Cut(addr, ".")
	return typ
}

// skipKey skips a ["KEY"] at the start of s (a quoted Go string).
func skipKey(s string) string {
	i := 2 // past `["`
	for i < len(s) && s[i] != '"' {
		if s[i] == '\\' {
			i++
		}
		i++
	}
	return strings.TrimPrefix(s[min(i+1, len(s)):], "]")
}
