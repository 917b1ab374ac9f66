package buildcontext

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func hashOf(t testing.TB, dir string, opts Options) string {
	t.Helper()
	c, err := Load(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Hash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// ageTree sets every mtime to an hour ago so the stat cache keeps entries.
func ageTree(t testing.TB, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Chtimes(p, old, old)
		}
		return err
	})
}

func TestHashChanges(t *testing.T) {
	big := make([]byte, 3*chunkSize+123)
	rand.Read(big)
	edits := []struct {
		name    string
		edit    func(t *testing.T, dir string)
		changes bool
	}{
		{"nothing", func(t *testing.T, dir string) {}, false},
		{"touch", func(t *testing.T, dir string) {
			now := time.Now().Add(time.Minute)
			os.Chtimes(filepath.Join(dir, "main.go"), now, now)
		}, false},
		{"umask-like permission change", func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, "main.go"), 0o600)
		}, false},
		{"rewrite with same content", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "main.go")
			os.Remove(p)
			os.WriteFile(p, []byte("package main"), 0o664)
		}, false},
		{"edit ignored file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "debug.log"), []byte("changed"), 0o644)
		}, false},
		{"content edit", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main // edited"), 0o644)
		}, true},
		{"same-size content edit with old mtime", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "main.go")
			fi, _ := os.Stat(p)
			os.WriteFile(p, []byte("package mai2"), 0o644)
			os.Chtimes(p, fi.ModTime(), fi.ModTime().Add(time.Nanosecond))
		}, true},
		{"chmod +x", func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, "main.go"), 0o755)
		}, true},
		{"large file chunk edit", func(t *testing.T, dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, "big.bin"), os.O_WRONLY, 0)
			f.WriteAt([]byte{big[2*chunkSize+5] ^ 1}, 2*chunkSize+5)
			f.Close()
		}, true},
		{"rename", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, "main.go"), filepath.Join(dir, "main2.go"))
		}, true},
		{"new empty directory", func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "empty"), 0o755)
		}, true},
		{"symlink target", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "link"))
			os.Symlink("other", filepath.Join(dir, "link"))
		}, true},
	}
	for _, tt := range edits {
		for _, cached := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/cache=%v", tt.name, cached), func(t *testing.T) {
				dir := t.TempDir()
				writeTree(t, dir, map[string]string{
					"Dockerfile": "FROM scratch\nCOPY . /\n", "main.go": "package main",
					".dockerignore": "*.log\n", "debug.log": "x", "sub/a.txt": "a",
				})
				os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644)
				os.Symlink("main.go", filepath.Join(dir, "link"))
				ageTree(t, dir)
				opts := Options{}
				if cached {
					opts.CacheFile = filepath.Join(t.TempDir(), "cache")
				}
				before := hashOf(t, dir, opts)
				if cached && hashOf(t, dir, opts) != before {
					t.Fatal("hash from the warm cache differs")
				}
				tt.edit(t, dir)
				after := hashOf(t, dir, opts)
				if changed := before != after; changed != tt.changes {
					t.Errorf("hash changed = %v, want %v (before %s, after %s)", changed, tt.changes, before, after)
				}
				if cold := hashOf(t, dir, Options{}); cold != after {
					t.Errorf("cached hash %s differs from a cold hash %s", after, cold)
				}
			})
		}
	}
}

func TestHashIndependentOfLocation(t *testing.T) {
	files := map[string]string{"Dockerfile": "FROM scratch", "a/b.txt": "b"}
	d1, d2 := t.TempDir(), t.TempDir()
	writeTree(t, d1, files)
	old := syscall.Umask(0o077)
	writeTree(t, d2, files)
	syscall.Umask(old)
	if h1, h2 := hashOf(t, d1, Options{}), hashOf(t, d2, Options{}); h1 != h2 {
		t.Errorf("same tree, different hashes: %s vs %s", h1, h2)
	}
}

func TestCacheIsAtomicAndRecovers(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch", "a": "a"})
	ageTree(t, dir)
	cache := filepath.Join(t.TempDir(), "sub", "cache")
	want := hashOf(t, dir, Options{})
	if got := hashOf(t, dir, Options{CacheFile: cache}); got != want {
		t.Fatalf("hash with cache = %s, want %s", got, want)
	}
	ents, _ := os.ReadDir(filepath.Dir(cache))
	if len(ents) != 1 {
		t.Errorf("cache dir has %d entries, want only the cache (no temp files left)", len(ents))
	}
	os.WriteFile(cache, []byte("garbage"), 0o644)
	if got := hashOf(t, dir, Options{CacheFile: cache}); got != want {
		t.Fatalf("hash with corrupt cache = %s, want %s", got, want)
	}
}

func TestWriteTar(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch", "bin/app": "#!/bin/sh", ".dockerignore": "secret", "secret": "s"})
	os.Chmod(filepath.Join(dir, "bin/app"), 0o700)
	c, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteTar(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	type item struct {
		Name string
		Mode int64
		Body string
	}
	var got []item
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if h.Uid != 0 || !h.ModTime.Equal(epoch) {
			t.Errorf("%s: uid %d mtime %v, want normalised", h.Name, h.Uid, h.ModTime)
		}
		got = append(got, item{h.Name, h.Mode, string(body)})
	}
	want := []item{
		{".dockerignore", 0o644, "secret"},
		{"Dockerfile", 0o644, "FROM scratch"},
		{"bin/", 0o755, ""},
		{"bin/app", 0o755, "#!/bin/sh"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tar entries (-want +got):\n%s", diff)
	}
}
