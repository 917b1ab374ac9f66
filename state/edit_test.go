package state_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/storetest"
)

func TestMoveInstance(t *testing.T) {
	tests := []struct {
		name, src, dst, wantErr string
	}{
		{name: "rename", src: `docker_build.app["svc0"]`, dst: "docker_build.web"},
		{name: "missing", src: "exec.nope", dst: "exec.other", wantErr: "exec.nope is not in the state"},
		{name: "taken", src: `docker_build.app["svc0"]`, dst: "exec.test", wantErr: "already has a record"},
		{name: "other type", src: `docker_build.app["svc0"]`, dst: "exec.web", wantErr: "the step type must stay the same"},
		{name: "into a module", src: `docker_build.app["svc0"]`, dst: `module.svc["a.b]"].module.x.docker_build.web`},
		{name: "into a module, other type", src: `docker_build.app["svc0"]`, dst: "module.api.exec.web", wantErr: "the step type must stay the same"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := storetest.Sample("default")
			st.Instances["exec.test"].Dependencies = []string{tt.src}
			_, err := st.MoveInstance(tt.src, tt.dst)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("MoveInstance = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in := st.Instances[tt.dst]; in == nil || in.Addr != tt.dst || st.Instances[tt.src] != nil {
				t.Errorf("after MoveInstance: %s = %+v, %s still present: %v", tt.dst, in, tt.src, st.Instances[tt.src] != nil)
			}
			if deps := st.Instances["exec.test"].Dependencies; !slices.Equal(deps, []string{tt.dst}) {
				t.Errorf("dependencies of exec.test = %q, want [%s]", deps, tt.dst)
			}
		})
	}
}

// TestModuleInstances: a module address stands for everything inside it.
func TestModuleInstances(t *testing.T) {
	st := storetest.Sample("default")
	if _, err := st.MoveInstance("exec.test", "module.api.exec.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.MoveInstance("module.api", `module.svc["a"]`); err != nil {
		t.Fatal(err)
	}
	if got := st.InstancesOf("module.svc"); !slices.Equal(got, []string{`module.svc["a"].exec.test`}) {
		t.Errorf("InstancesOf(module.svc) = %q", got)
	}
	if got, err := st.RemoveInstance(`module.svc["a"]`); err != nil || len(got) != 1 {
		t.Errorf("RemoveInstance(module.svc[\"a\"]) = %q, %v", got, err)
	}
}

func TestRemoveInstance(t *testing.T) {
	st := storetest.Sample("default")
	if _, err := st.RemoveInstance("exec.test"); err != nil || st.Instances["exec.test"] != nil {
		t.Fatalf("RemoveInstance = %v, record left: %v", err, st.Instances["exec.test"] != nil)
	}
	if _, err := st.RemoveInstance("exec.test"); err == nil || !strings.Contains(err.Error(), "not in the state") {
		t.Errorf("second RemoveInstance = %v, want not in the state", err)
	}
}

func TestLocalMigration(t *testing.T) {
	storetest.RunMigration(t, func(t *testing.T) (state.Store, state.Store) {
		return state.NewLocal(t.TempDir(), "default"), state.NewLocal(t.TempDir(), "default")
	})
}
