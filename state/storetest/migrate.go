package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ansflow/ansflow/state"
)

// RunMigration checks state.Migration from one store to another, both new
// and empty, as made by newPair for each case.
func RunMigration(t *testing.T, newPair func(t *testing.T) (from, to state.Store)) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, from, to state.Store)
		force   bool
		wantErr string
	}{
		{name: "copies", prepare: func(t *testing.T, from, _ state.Store) { mustWrite(t, from, Sample("default")) }},
		{name: "empty source", prepare: func(*testing.T, state.Store, state.Store) {}, wantErr: "nothing to migrate"},
		{name: "other lineage", prepare: bothSamples, wantErr: "already holds a state of lineage"},
		{name: "other lineage forced", prepare: bothSamples, force: true},
		{name: "newer destination", prepare: newerDestination, wantErr: "holds a newer state of the same lineage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := newPair(t)
			tt.prepare(t, from, to)
			m := state.Migration{Workspace: "default", From: from, To: to, FromName: "source", ToName: "destination", Force: tt.force}
			st, serial, err := m.Run(t.Context())
			if tt.wantErr != "" {
				mustFail(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Migration.Run: %v", err)
			}
			got := mustRead(t, to)
			if got.Serial != serial || serial < st.Serial {
				t.Errorf("destination serial %d, Run said %d, source %d", got.Serial, serial, st.Serial)
			}
			st.Serial = got.Serial
			if diff := cmp.Diff(st, got); diff != "" {
				t.Errorf("migrated state differs (-source +destination):\n%s", diff)
			}
		})
	}
}

func bothSamples(t *testing.T, from, to state.Store) {
	mustWrite(t, from, Sample("default"))
	mustWrite(t, to, Sample("default"))
}

func newerDestination(t *testing.T, from, to state.Store) {
	st := Sample("default")
	mustWrite(t, from, st)
	imp := to.(state.Importer)
	newer := Sample("default")
	newer.Lineage, newer.Serial = st.Lineage, st.Serial+5
	if err := imp.Import(t.Context(), newer); err != nil {
		t.Fatal(err)
	}
}
