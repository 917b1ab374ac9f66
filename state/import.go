package state

import (
	"context"
	"errors"
)

// Importer is a Store that can take a whole state as it is, lineage and
// serial included: `ansflow state migrate` uses it to move a state between
// backends without it looking like a new one.
type Importer interface {
	Store
	// Import replaces whatever is stored with s, lineage included. The
	// serial is s.Serial, or one more than the stored serial when that is
	// not less, so that serials never go back; s.Serial is set to it. The
	// caller checks lineages and holds the lock.
	Import(ctx context.Context, s *State) error
}

var _ Importer = (*Local)(nil)

// Import replaces the snapshot with s as it is and drops the journal; see
// Importer.
func (l *Local) Import(ctx context.Context, s *State) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s == nil || s.Lineage == "" {
		return errors.New("cannot import a state without a lineage")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t, err := l.current()
	if err != nil {
		return err
	}
	l.known = nil
	if err := l.replaceSnapshot(s, max(s.Serial, t.serial+1)); err != nil {
		return err
	}
	l.seen = &version{lineage: s.Lineage, serial: s.Serial}
	return nil
}
