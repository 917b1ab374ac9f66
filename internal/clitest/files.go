package clitest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ansflow/ansflow/state"
	"github.com/rogpeppe/go-internal/txtar"
)

// WriteFiles writes name → content files into dir, making directories as
// needed.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), []byte(content))
	}
}

// Dir makes a temporary pipeline directory holding files.
func Dir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	WriteFiles(t, dir, files)
	return dir
}

// WriteTxtar writes the files of a txtar archive into dir (its comment is
// ignored).
func WriteTxtar(t testing.TB, dir, archive string) {
	t.Helper()
	for _, f := range txtar.Parse([]byte(archive)).Files {
		writeFile(t, filepath.Join(dir, f.Name), f.Data)
	}
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ReadState reads the state of workspace ("" is "default") of the pipeline
// in dir, as ansflow's local backend stores it.
func ReadState(dir, workspace string) (*state.State, error) {
	if workspace == "" {
		workspace = state.DefaultWorkspace
	}
	st := state.NewLocal(state.StateDir(dir), workspace)
	defer st.Close()
	return st.Read(context.Background())
}

// Status is the recorded status of addr in s, or "" when s does not
// record it.
func Status(s *state.State, addr string) state.Status {
	if s == nil {
		return ""
	}
	if in, ok := s.Instances[addr]; ok {
		return in.Status
	}
	return ""
}
