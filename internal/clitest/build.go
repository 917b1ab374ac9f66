package clitest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// mainPackage is what Binary builds.
const mainPackage = "github.com/ansflow/ansflow/cmd/ansflow"

// TestingM is what TestMain gets: *testing.M, or a wrapper of it.
type TestingM interface{ Run() int }

// builder builds the binary at most once per test process, into the
// directory Main made for it.
type builder struct {
	mu     sync.Mutex
	dir    string // set by Main for the duration of m.Run
	once   sync.Once
	bin    string
	err    error
	builds int // how many times go build ran (for the tests of this package)
}

var process builder

// Main wraps m so that the binary Binary builds lives in a temporary
// directory that is removed when the tests are done. Call it from
// TestMain, alone or under testscript:
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

// Binary returns the path of the ansflow binary, building it on the first
// call of the test process (later calls, from any goroutine, wait for that
// build and get the same path). The package's TestMain must use Main.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := process.binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func (b *builder) binary() (string, error) {
	b.mu.Lock()
	dir := b.dir
	b.mu.Unlock()
	if dir == "" {
		return "", fmt.Errorf("clitest.Binary: the package's TestMain must run the tests through clitest.Main(m).Run()")
	}
	b.once.Do(func() {
		b.builds++
		b.bin, b.err = build(dir)
	})
	return b.bin, b.err
}

// build runs go build of the ansflow main into dir, with the test's own
// environment (its Go settings and caches).
func build(dir string) (string, error) {
	bin := filepath.Join(dir, "ansflow")
	out, err := exec.Command("go", "build", "-o", bin, mainPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building ansflow (go build -o %s %s): %v\n%s", bin, mainPackage, err, out)
	}
	return bin, nil
}
