package state_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/storetest"
)

func TestWorkspaces(t *testing.T) {
	t.Setenv(state.WorkspaceEnv, "")
	dir := t.TempDir()

	current := func(want string) {
		t.Helper()
		got, err := state.CurrentWorkspace(dir)
		if err != nil || got != want {
			t.Fatalf("CurrentWorkspace = %q, %v; want %q", got, err, want)
		}
	}
	list := func(want ...string) {
		t.Helper()
		got, err := state.ListWorkspaces(dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("ListWorkspaces (-want +got):\n%s", diff)
		}
	}
	mustFail := func(err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got error %v, want one containing %q", err, want)
		}
	}

	current("default")
	list("default")
	mustFail(state.SelectWorkspace(dir, "prod"), "does not exist")
	if err := state.SelectWorkspace(dir, "default"); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"prod", "staging_2", "a-b"} {
		if err := state.NewWorkspace(dir, name); err != nil {
			t.Fatalf("NewWorkspace(%q): %v", name, err)
		}
	}
	mustFail(state.NewWorkspace(dir, "prod"), "already exists")
	for _, bad := range []string{"", "../x", "a b", "x.json", strings.Repeat("x", 65)} {
		mustFail(state.NewWorkspace(dir, bad), "invalid workspace name")
	}
	list("a-b", "default", "prod", "staging_2")

	if err := state.SelectWorkspace(dir, "prod"); err != nil {
		t.Fatal(err)
	}
	current("prod")
	t.Setenv(state.WorkspaceEnv, "staging_2")
	current("staging_2")
	t.Setenv(state.WorkspaceEnv, "../etc")
	mustFail(func() error { _, err := state.CurrentWorkspace(dir); return err }(), state.WorkspaceEnv)
	t.Setenv(state.WorkspaceEnv, "")

	// Deleting.
	mustFail(state.DeleteWorkspace(dir, "prod", false), "current workspace")
	mustFail(state.DeleteWorkspace(dir, "default", true), "cannot be deleted")
	mustFail(state.DeleteWorkspace(dir, "nope", false), "does not exist")

	staging := state.NewLocal(state.StateDir(dir), "staging_2")
	s, err := staging.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s.Instances["exec.x"] = storetest.Instance("exec.x")
	if err := staging.Write(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	mustFail(state.DeleteWorkspace(dir, "staging_2", false), "destroy")

	lock, err := staging.Lock(t.Context(), state.NewLockInfo("apply"), false)
	if err != nil {
		t.Fatal(err)
	}
	mustFail(state.DeleteWorkspace(dir, "staging_2", true), "locked")
	lock.Unlock()

	if err := state.DeleteWorkspace(dir, "staging_2", true); err != nil {
		t.Fatalf("forced delete: %v", err)
	}
	if err := state.DeleteWorkspace(dir, "a-b", false); err != nil {
		t.Fatalf("delete of an empty workspace: %v", err)
	}
	list("default", "prod")
}
