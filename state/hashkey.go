package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ansflow/ansflow/internal/safefile"
)

// HashKeySize is the length of a workspace's hash key in bytes.
const HashKeySize = 32

// HashKeyer is a Store that keeps a secret key per workspace, apart from
// the state: sensitive values are recorded in states and plan files as a
// keyed hash (HMAC-SHA256) under it, so that a copied state or plan file
// does not let anyone test guesses of a secret.
type HashKeyer interface {
	// HashKey returns the workspace's key, creating it the first time.
	HashKey(ctx context.Context) ([]byte, error)
}

var _ HashKeyer = (*Local)(nil)

// KeyPath is the file of the workspace's hash key: .ansflow/keys/<workspace>.key,
// next to the state directory rather than in it, mode 0600.
func (l *Local) KeyPath() string {
	return filepath.Join(filepath.Dir(l.dir), "keys", l.workspace+".key")
}

// HashKey returns the key in KeyPath, creating it (32 random bytes, in
// hex) when there is none. Losing it changes every recorded hash of a
// sensitive value: the steps that use one run once more.
func (l *Local) HashKey(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := l.KeyPath()
	for range 2 {
		key, err := readHashKey(path)
		if !errors.Is(err, fs.ErrNotExist) {
			return key, err
		}
		if err := createHashKey(path); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("creating the workspace's hash key %s: %w", path, err)
		}
	}
	return readHashKey(path)
}

func readHashKey(path string) ([]byte, error) {
	data, _, err := safefile.Read(path, 1024)
	if err != nil {
		return nil, err
	}
	key, err := DecodeHashKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("the workspace's hash key %s is damaged: %v. Remove it to make a new one; "+
			"the steps whose inputs hold a sensitive value then run once more", path, err)
	}
	return key, nil
}

// DecodeHashKey parses a key as stored: hex, with a newline or not.
func DecodeHashKey(s string) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("it is not hex")
	}
	if len(key) != HashKeySize {
		return nil, fmt.Errorf("it holds %d bytes, want %d", len(key), HashKeySize)
	}
	return key, nil
}

// NewHashKey returns a new random key and its stored form.
func NewHashKey() ([]byte, string) {
	key := make([]byte, HashKeySize)
	rand.Read(key)
	return key, hex.EncodeToString(key) + "\n"
}

// createHashKey writes a new key to path unless one is there: written to a
// temporary file, then linked into place, so a reader never sees half a
// key and two creators cannot both win.
func createHashKey(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), dirPerm); err != nil {
		return err
	}
	_, text := NewHashKey()
	tmp, err := writeTemp(path, []byte(text))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}
