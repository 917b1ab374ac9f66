package cmd

import (
	"context"
	"fmt"

	"github.com/ansflow/ansflow/state"
)

// workspaceStore opens the store of workspace name in the backend the
// pipeline of dir configures, for the workspace commands; done closes it.
func workspaceStore(dir, name string) (store state.WorkspaceStore, done func(), err error) {
	b, diags := loadBackend(dir)
	if diags.HasErrors() {
		return nil, nil, fmt.Errorf("cannot tell where the state is kept: %w", diags)
	}
	s, err := b.Open(dir, name)
	if err != nil {
		return nil, nil, err
	}
	ws, ok := s.(state.WorkspaceStore)
	if !ok {
		closeStore(s)
		return nil, nil, fmt.Errorf("the %s backend cannot manage workspaces", b)
	}
	return ws, func() { closeStore(s) }, nil
}

// listWorkspaces prints the workspaces of the pipeline of dir, marking the
// current one with *.
func listWorkspaces(ctx context.Context, app *App, dir string) error {
	cur, err := state.CurrentWorkspace(dir)
	if err != nil {
		return err
	}
	s, done, err := workspaceStore(dir, state.DefaultWorkspace)
	if err != nil {
		return err
	}
	defer done()
	names, err := state.ListWorkspacesIn(ctx, s)
	if err != nil {
		return err
	}
	for _, n := range names {
		mark := " "
		if n == cur {
			mark = "*"
		}
		fmt.Fprintf(app.Stdout, "%s %s\n", mark, n)
	}
	return nil
}
