package state_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ansflow/ansflow/state"
)

// The hash key is made once, kept apart from the state in a 0600 file,
// and the same for every Local of the workspace, even when they race to
// make it.
func TestHashKey(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, ".ansflow", "state")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := state.NewLocal(dir, "default").HashKey(t.Context())
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if len(k) != state.HashKeySize || !bytes.Equal(k, keys[0]) {
			t.Fatalf("keys differ or are short: %x vs %x", k, keys[0])
		}
	}
	l := state.NewLocal(dir, "default")
	path := l.KeyPath()
	if filepath.Dir(path) == dir || !strings.HasPrefix(path, filepath.Join(root, ".ansflow")) {
		t.Errorf("key at %s, want it under .ansflow but not in the state directory", path)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, mode %v; want 0600", path, err, info.Mode())
	}
	if other, _ := state.NewLocal(dir, "ci").HashKey(t.Context()); bytes.Equal(other, keys[0]) {
		t.Errorf("two workspaces share a key")
	}
	for name, content := range map[string]string{"not hex": "zz\n", "too short": "abcd\n", "empty": ""} {
		must(t, os.WriteFile(path, []byte(content), 0o600))
		if _, err := l.HashKey(t.Context()); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s key: %v, want an error naming %s", name, err, path)
		}
	}
	must(t, os.Remove(path))
	must(t, os.Symlink("/dev/zero", path))
	if _, err := l.HashKey(t.Context()); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("key on /dev/zero: %v, want an error naming %s", err, path)
	}
}
