package state

import (
	"context"
	"fmt"
	"strings"
)

// NotInState is the error for an address st has no record of.
func NotInState(addr string, st *State) error {
	return fmt.Errorf("%s is not in the state; `ansflow state list` shows what is (%d records)", addr, len(st.Instances))
}

// RemoveInstance forgets the record at addr, leaving alone whatever its
// step created.
func (s *State) RemoveInstance(addr string) error {
	if _, ok := s.Instances[addr]; !ok {
		return NotInState(addr, s)
	}
	delete(s.Instances, addr)
	return nil
}

// MoveInstance moves the record at src to dst, after a step was renamed,
// and makes the records depending on src depend on dst. The step type must
// stay the same and dst must be free.
func (s *State) MoveInstance(src, dst string) error {
	in, ok := s.Instances[src]
	if !ok {
		return NotInState(src, s)
	}
	if _, taken := s.Instances[dst]; taken {
		return fmt.Errorf("%s already has a record; remove it first with `ansflow state rm %s`", dst, dst)
	}
	typ := dst
	if i := strings.IndexByte(typ, '.'); i > 0 {
		typ = typ[:i]
	}
	if typ != in.Type {
		return fmt.Errorf("cannot move a %s record to %s: the step type must stay the same", in.Type, dst)
	}
	delete(s.Instances, src)
	in.Addr = dst
	s.Instances[dst] = in
	for _, other := range s.Instances {
		for i, d := range other.Dependencies {
			if d == src {
				other.Dependencies[i] = dst
			}
		}
	}
	return nil
}

// Edit reads the state of store, lets edit change it and writes it back;
// nothing is written when edit fails. The caller holds the lock.
func Edit(ctx context.Context, store Store, edit func(*State) error) error {
	st, err := store.Read(ctx)
	if err != nil {
		return err
	}
	if err := edit(st); err != nil {
		return err
	}
	return store.Write(ctx, st)
}
