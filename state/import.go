package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
	out := *s
	out.FormatVersion = FormatVersion
	out.Serial = max(s.Serial, t.serial+1)
	if out.Workspace == "" {
		out.Workspace = l.workspace
	}
	data, err := json.Marshal(&out)
	if err != nil {
		return fmt.Errorf("encoding the state: %w", err)
	}
	if err := l.commitSnapshot(append(data, '\n')); err != nil {
		return fmt.Errorf("writing state %s: %w", l.Path(), err)
	}
	s.FormatVersion, s.Serial, s.Workspace = out.FormatVersion, out.Serial, out.Workspace
	l.closeJournal()
	l.known = nil
	if err := os.Remove(l.journalPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the state journal: %w", err)
	}
	return nil
}
