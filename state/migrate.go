package state

import (
	"context"
	"fmt"
)

// Migration copies the state of one workspace from one store to another,
// lineage, serial, instances and run history included.
type Migration struct {
	Workspace string
	// From and To are the stores, each described for messages by FromName
	// and ToName ("local (.ansflow/state)").
	From, To         Store
	FromName, ToName string
	// Force replaces a destination holding the state of another lineage or
	// a newer serial of the same one, which are refused otherwise.
	Force bool
}

// Run copies the state and reads it back; it returns the state copied and
// the serial it has in To. The caller holds the locks of both stores. The
// source is left as it was.
func (m Migration) Run(ctx context.Context) (*State, uint64, error) {
	imp, ok := m.To.(Importer)
	if !ok {
		return nil, 0, fmt.Errorf("the %s backend cannot import a state", m.ToName)
	}
	st, err := m.From.Read(ctx)
	if err != nil {
		return nil, 0, err
	}
	if st.isEmpty() {
		return nil, 0, fmt.Errorf("nothing to migrate: workspace %q has no state in the %s backend", m.Workspace, m.FromName)
	}
	cur, err := m.To.Read(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := checkMigration(st, cur, m.Force); err != nil {
		return nil, 0, fmt.Errorf("workspace %q in the %s backend: %w", m.Workspace, m.ToName, err)
	}
	if err := imp.Import(ctx, st); err != nil {
		return nil, 0, err
	}
	check, err := m.To.Read(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the migrated state back: %w", err)
	}
	if check.Lineage != st.Lineage || len(check.Instances) != len(st.Instances) || len(check.Runs) != len(st.Runs) {
		return nil, 0, fmt.Errorf("the migrated state does not read back as written (lineage %s, %d instances); the source is unchanged",
			check.Lineage, len(check.Instances))
	}
	return st, check.Serial, nil
}

// checkMigration refuses to replace a destination state that records
// something of another lineage, or a newer serial of the same lineage,
// unless force.
func checkMigration(src, dst *State, force bool) error {
	if force || dst.isEmpty() {
		return nil
	}
	if dst.Lineage != src.Lineage {
		return fmt.Errorf("it already holds a state of lineage %s (%d instances), not %s; "+
			"migrate another workspace, or pass -force to replace it", dst.Lineage, len(dst.Instances), src.Lineage)
	}
	if dst.Serial > src.Serial {
		return fmt.Errorf("it holds a newer state of the same lineage (serial %d, the source has %d); "+
			"migrate the other way, or pass -force to replace it", dst.Serial, src.Serial)
	}
	return nil
}
