package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/state"
)

// Opener returns the store of a workspace of one backend: the stores it
// returns for different workspaces share their pipeline.
type Opener func(workspace string) state.WorkspaceStore

// RunWorkspaces runs the conformance tests of workspaces against the
// backends made by newBackend, a new empty one for each subtest.
func RunWorkspaces(t *testing.T, newBackend func(t *testing.T) Opener) {
	runAll(t, newBackend, []namedTest[Opener]{
		{"ListEmpty", testListEmpty},
		{"NewListSelect", testNewListSelect},
		{"Independent", testWorkspacesIndependent},
		{"Delete", testDeleteWorkspace},
	})
}

func mustList(t *testing.T, open Opener, want ...string) {
	t.Helper()
	got, err := state.ListWorkspacesIn(t.Context(), open(state.DefaultWorkspace))
	if err != nil {
		t.Fatalf("ListWorkspacesIn: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ListWorkspacesIn = %q, want %q", got, want)
	}
}

func mustFail(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want one containing %q", err, want)
	}
}

func testListEmpty(t *testing.T, open Opener) {
	mustList(t, open, "default")
	if got := open("prod").Workspace(); got != "prod" {
		t.Errorf("Workspace() = %q, want prod", got)
	}
}

func testNewListSelect(t *testing.T, open Opener) {
	ctx, dir := t.Context(), t.TempDir()
	mustFail(t, state.SelectWorkspaceIn(ctx, dir, open("prod")), "does not exist")
	for _, name := range []string{"prod", "Staging_2"} {
		if err := state.NewWorkspaceIn(ctx, open(name)); err != nil {
			t.Fatalf("NewWorkspaceIn(%s): %v", name, err)
		}
	}
	mustFail(t, state.NewWorkspaceIn(ctx, open("prod")), "already exists")
	mustFail(t, state.NewWorkspaceIn(ctx, open("bad name")), "invalid workspace name")
	mustList(t, open, "Staging_2", "default", "prod")
	if err := state.SelectWorkspaceIn(ctx, dir, open("Staging_2")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(state.WorkspaceEnv, "")
	if cur, err := state.CurrentWorkspace(dir); err != nil || cur != "Staging_2" {
		t.Errorf("CurrentWorkspace after select = %q, %v; want Staging_2", cur, err)
	}
	if err := state.SelectWorkspaceIn(ctx, dir, open(state.DefaultWorkspace)); err != nil {
		t.Errorf("selecting default, which always exists: %v", err)
	}
}

func testWorkspacesIndependent(t *testing.T, open Opener) {
	ctx := t.Context()
	prod := open("prod")
	mustWrite(t, prod, Sample("prod"))
	if got := mustRead(t, open(state.DefaultWorkspace)); len(got.Instances) != 0 {
		t.Errorf("default records %d instances after a Write to prod, want none", len(got.Instances))
	}
	lock := mustLock(t, prod, lockInfo("apply"))
	defer lock.Unlock()
	other, err := open(state.DefaultWorkspace).Lock(ctx, lockInfo("apply"), false)
	if err != nil {
		t.Fatalf("locking default while prod is locked: %v", err)
	}
	other.Unlock()
	mustList(t, open, "default", "prod")
}

func testDeleteWorkspace(t *testing.T, open Opener) {
	ctx, dir := t.Context(), t.TempDir()
	t.Setenv(state.WorkspaceEnv, "")
	mustFail(t, state.DeleteWorkspaceIn(ctx, dir, open("default"), true), "cannot be deleted")
	mustFail(t, state.DeleteWorkspaceIn(ctx, dir, open("nope"), false), "does not exist")
	staging := open("staging")
	mustWrite(t, staging, Sample("staging"))
	if err := state.SelectWorkspaceIn(ctx, dir, staging); err != nil {
		t.Fatal(err)
	}
	mustFail(t, state.DeleteWorkspaceIn(ctx, dir, open("staging"), true), "current workspace")
	if err := state.SelectWorkspaceIn(ctx, dir, open("default")); err != nil {
		t.Fatal(err)
	}
	mustFail(t, state.DeleteWorkspaceIn(ctx, dir, open("staging"), false), "destroy")
	lock := mustLock(t, staging, lockInfo("apply"))
	mustFail(t, state.DeleteWorkspaceIn(ctx, dir, open("staging"), true), "locked")
	lock.Unlock()
	if err := state.DeleteWorkspaceIn(ctx, dir, open("staging"), true); err != nil {
		t.Fatalf("DeleteWorkspaceIn -force: %v", err)
	}
	mustList(t, open, "default")
	again := open("staging")
	if got := mustRead(t, again); len(got.Instances) != 0 || got.Serial != 0 {
		t.Errorf("a deleted workspace reads serial %d with %d instances, want an empty state", got.Serial, len(got.Instances))
	}
	mustLock(t, again, lockInfo("apply")).Unlock()
}
