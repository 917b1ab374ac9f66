package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// DefaultWorkspace is the workspace used until another is selected. It
// always exists, even before anything is stored in it.
const DefaultWorkspace = "default"

// WorkspaceEnv names the environment variable that overrides the selected
// workspace.
const WorkspaceEnv = "ANSFLOW_WORKSPACE"

var workspaceName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// StateDir returns the directory holding the states of a pipeline.
func StateDir(pipelineDir string) string {
	return filepath.Join(pipelineDir, ".ansflow", "state")
}

// environmentFile holds the name of the selected workspace.
func environmentFile(pipelineDir string) string {
	return filepath.Join(pipelineDir, ".ansflow", "environment")
}

// ValidateWorkspaceName checks that name is a usable workspace name:
// letters, digits, '-' and '_', at most 64 of them.
func ValidateWorkspaceName(name string) error {
	if !workspaceName.MatchString(name) {
		return fmt.Errorf("invalid workspace name %q: use 1 to 64 letters, digits, '-' or '_'", name)
	}
	return nil
}

// CurrentWorkspace returns the workspace selected in pipelineDir: the
// ANSFLOW_WORKSPACE environment variable when set, else the name saved by
// SelectWorkspace, else "default".
func CurrentWorkspace(pipelineDir string) (string, error) {
	if name := os.Getenv(WorkspaceEnv); name != "" {
		if err := ValidateWorkspaceName(name); err != nil {
			return "", fmt.Errorf("%s: %w", WorkspaceEnv, err)
		}
		return name, nil
	}
	data, err := os.ReadFile(environmentFile(pipelineDir))
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultWorkspace, nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the selected workspace: %w", err)
	}
	name := strings.TrimSpace(string(data))
	if name == "" {
		return DefaultWorkspace, nil
	}
	if err := ValidateWorkspaceName(name); err != nil {
		return "", fmt.Errorf("%s: %w; select a workspace with: ansflow workspace select NAME", environmentFile(pipelineDir), err)
	}
	return name, nil
}

// SelectWorkspace makes name the current workspace of pipelineDir. It must
// exist, unless it is "default".
func SelectWorkspace(pipelineDir, name string) error {
	if err := ValidateWorkspaceName(name); err != nil {
		return err
	}
	if name != DefaultWorkspace {
		exists, err := workspaceExists(pipelineDir, name)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("workspace %q does not exist; create it with: ansflow workspace new %s", name, name)
		}
	}
	if err := os.MkdirAll(filepath.Join(pipelineDir, ".ansflow"), dirPerm); err != nil {
		return err
	}
	if err := writeFileAtomic(environmentFile(pipelineDir), []byte(name+"\n")); err != nil {
		return fmt.Errorf("saving the selected workspace: %w", err)
	}
	return nil
}

// NewWorkspace creates workspace name in pipelineDir with an empty state.
// It does not select it.
func NewWorkspace(pipelineDir, name string) error {
	if err := ValidateWorkspaceName(name); err != nil {
		return err
	}
	exists, err := workspaceExists(pipelineDir, name)
	if err != nil {
		return err
	}
	if exists {
		return fmt.Errorf("workspace %q already exists; select it with: ansflow workspace select %s", name, name)
	}
	return NewLocal(StateDir(pipelineDir), name).Write(context.Background(), New(name))
}

// ListWorkspaces returns the workspaces of pipelineDir, sorted; "default"
// is always among them.
func ListWorkspaces(pipelineDir string) ([]string, error) {
	names := []string{DefaultWorkspace}
	entries, err := os.ReadDir(StateDir(pipelineDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("listing workspaces: %w", err)
	}
	for _, e := range entries {
		name, ok := workspaceOfFile(e.Name())
		if ok && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// workspaceOfFile returns the workspace whose snapshot or journal is the
// file named file.
func workspaceOfFile(file string) (string, bool) {
	for _, ext := range []string{".json", ".journal"} {
		if name, ok := strings.CutSuffix(file, ext); ok && workspaceName.MatchString(name) {
			return name, true
		}
	}
	return "", false
}

// workspaceExists reports whether name has a snapshot or a journal.
func workspaceExists(pipelineDir, name string) (bool, error) {
	for _, ext := range []string{".json", ".journal"} {
		_, err := os.Lstat(filepath.Join(StateDir(pipelineDir), name+ext))
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	return false, nil
}

// DeleteWorkspace removes workspace name of pipelineDir with its backups.
// It refuses the current workspace, "default", a workspace locked by a run,
// and, unless force is set, a workspace whose state still records
// something (destroy it first, or the objects it created are forgotten).
func DeleteWorkspace(pipelineDir, name string, force bool) error {
	if err := ValidateWorkspaceName(name); err != nil {
		return err
	}
	if name == DefaultWorkspace {
		return errors.New(`the "default" workspace cannot be deleted`)
	}
	current, err := CurrentWorkspace(pipelineDir)
	if err != nil {
		return err
	}
	if name == current {
		return fmt.Errorf("workspace %q is the current workspace; select another first: ansflow workspace select default", name)
	}
	exists, err := workspaceExists(pipelineDir, name)
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("workspace %q does not exist", name)
	}

	ctx := context.Background()
	store := NewLocal(StateDir(pipelineDir), name)
	lock, err := store.Lock(ctx, NewLockInfo("workspace delete"), false)
	if err != nil {
		return fmt.Errorf("cannot delete workspace %q: %w", name, err)
	}
	defer lock.Unlock()
	if !force {
		s, err := store.Read(ctx)
		if err != nil {
			return fmt.Errorf("cannot delete workspace %q: %w; pass -force to delete it anyway", name, err)
		}
		if n := len(s.Instances); n > 0 {
			return fmt.Errorf("workspace %q still records %d step instances; run ansflow destroy in it first, "+
				"or pass -force to forget them (the objects they created stay where they are)", name, n)
		}
	}
	return store.remove()
}

// remove deletes the files of the workspace, keeping the lock file for
// last: the caller holds the lock and releases it afterwards.
func (l *Local) remove() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeJournal()
	l.known = nil
	paths := []string{l.Path(), l.journalPath(), l.KeyPath()}
	for i := 1; i <= backups; i++ {
		paths = append(paths, backupName(l.Path(), i))
	}
	paths = append(paths, l.lockInfoPath(), l.lockPath())
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deleting workspace %q: %w", l.workspace, err)
		}
	}
	return nil
}
