package clitest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// mainPackage is what Binary builds.
const mainPackage = "github.com/ansflow/ansflow/cmd/ansflow"

// cacheName is the directory under os.UserCacheDir() holding the binaries
// built for tests, one directory per source (see builder.cached).
const cacheName = "ansflow-clitest"

// unusedFor is how long a cached binary nobody asked for stays: longer
// than the longest test run (hack/reliability.sh allows 60 minutes).
const unusedFor = 3 * time.Hour

// TestingM is what TestMain gets: *testing.M, or a wrapper of it.
type TestingM interface{ Run() int }

// builder finds or builds the binary at most once per test process.
type builder struct {
	root   string // the cache directory; "" when there is none
	mu     sync.Mutex
	dir    string // Main's temporary directory, when there is no cache
	once   sync.Once
	bin    string
	err    error
	builds int // how many times go build ran (for the tests of this package)
}

var process = builder{root: userCache()}

// userCache is the cache directory of the binaries, "" if the user has none.
func userCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, cacheName)
}

// Main wraps m so that, where the user has no cache directory, the binary
// Binary builds lives in a temporary directory that is removed when the
// tests are done. Call it from TestMain, alone or under testscript:
//
//	func TestMain(m *testing.M) { os.Exit(clitest.Main(m).Run()) }
func Main(m TestingM) TestingM { return mainM{m} }

type mainM struct{ m TestingM }

func (w mainM) Run() int {
	dir, err := os.MkdirTemp("", "ansflow-clitest-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "clitest: a directory for the ansflow binary: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	process.mu.Lock()
	process.dir = dir
	process.mu.Unlock()
	return w.m.Run()
}

// Binary returns the path of the ansflow binary of the source under test.
// The first call of the test process finds it in the user's cache, where
// binaries are kept by the build ID of their source (so packages testing
// the same source in parallel share one, and two checkouts never share),
// or builds it there; later calls, from any goroutine, wait for that and
// get the same path.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := process.binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func (b *builder) binary() (string, error) {
	b.once.Do(func() {
		if b.root != "" {
			b.bin, b.err = b.cached()
			return
		}
		b.mu.Lock()
		dir := b.dir
		b.mu.Unlock()
		if dir == "" {
			b.err = fmt.Errorf("clitest.Binary: there is no user cache directory (set HOME), and the package's TestMain does not run the tests through clitest.Main(m).Run()")
			return
		}
		b.bin = filepath.Join(dir, "ansflow")
		b.err = b.build(b.bin)
	})
	return b.bin, b.err
}

// cached returns the binary of the source under test in b.root, building
// it first when it is not there, and removes binaries unused for long.
func (b *builder) cached() (string, error) {
	key, err := sourceKey()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(b.root, key)
	bin := filepath.Join(dir, "ansflow")
	defer prune(b.root, key, time.Now().Add(-unusedFor))
	if info, err := os.Stat(bin); err == nil && info.Mode().IsRegular() {
		now := time.Now()
		_ = os.Chtimes(bin, now, now) // in use: prune keeps it
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("clitest: a directory for the ansflow binary: %w", err)
	}
	// Built beside, then renamed: another process may be building or
	// running the same binary at this moment.
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	if err := b.build(tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, bin); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("clitest: %w", err)
	}
	return bin, nil
}

// sourceKey names the source under test: a hash of the main package's
// build ID (which covers the source of every package it imports, their
// paths and the toolchain) and of the Go flags, which can change the link.
func sourceKey() (string, error) {
	out, err := exec.Command("go", "list", "-export", "-f", "{{.BuildID}}", mainPackage).Output()
	if err != nil {
		return "", fmt.Errorf("clitest: go list -export %s (to find the binary of this source): %w%s", mainPackage, err, stderrOf(err))
	}
	flags, err := exec.Command("go", "env", "GOFLAGS").Output()
	if err != nil {
		return "", fmt.Errorf("clitest: go env GOFLAGS: %w%s", err, stderrOf(err))
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(string(out)) + "\n" + strings.TrimSpace(string(flags))))
	return hex.EncodeToString(sum[:12]), nil
}

func stderrOf(err error) string {
	if exit, ok := err.(*exec.ExitError); ok && len(exit.Stderr) > 0 {
		return "\n" + string(exit.Stderr)
	}
	return ""
}

// build runs go build of the ansflow main into bin, with the test's own
// environment (its Go settings and caches).
func (b *builder) build(bin string) error {
	b.builds++
	out, err := exec.Command("go", "build", "-o", bin, mainPackage).CombinedOutput()
	if err != nil {
		return fmt.Errorf("building ansflow (go build -o %s %s): %v\n%s", bin, mainPackage, err, out)
	}
	return nil
}

// prune removes the binaries in root other than keep's that were last
// built or asked for before cutoff (with what a failed build left there).
func prune(root, keep string, cutoff time.Time) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name() == keep || !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		info, err := os.Stat(filepath.Join(dir, "ansflow"))
		if err == nil && info.ModTime().After(cutoff) {
			continue
		}
		if err != nil {
			if dinfo, derr := os.Stat(dir); derr == nil && dinfo.ModTime().After(cutoff) {
				continue // being built now
			}
		}
		os.RemoveAll(dir)
	}
}
