package modules

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Pinned resolves remote module sources from the lock file and the copies
// `ansflow init` installed, and nothing else: no network, ever. It is the
// config.ModuleResolver of plan, apply, validate and graph.
type Pinned struct {
	root string

	once sync.Once
	lock *Lock
	have manifest
	err  error
}

// NewPinned returns the resolver for the pipeline in root. It reads the
// lock file when the first remote source is resolved.
func NewPinned(root string) *Pinned { return &Pinned{root: root} }

func (p *Pinned) read() {
	lock, diags := ReadLock(p.root)
	if diags.HasErrors() {
		p.err = fmt.Errorf("the lock file is not valid: %v; fix it, or delete it and run ansflow init", diagsError(diags))
		return
	}
	have, err := readManifest(p.root)
	if err != nil {
		p.err = err
		return
	}
	p.lock, p.have = lock, have
}

// ResolveModule returns the directory of source's installed copy, checked
// against the lock file.
func (p *Pinned) ResolveModule(source string) (string, error) {
	s, err := ParseSource(source)
	if err != nil {
		return "", err
	}
	p.once.Do(p.read)
	if p.err != nil {
		return "", p.err
	}
	pin, pinned := p.lock.Pins[source]
	have, ok := p.have[source]
	if ok {
		if _, err := os.Stat(filepath.Join(p.root, ModulesDir, have.Dir)); err != nil {
			ok = false
		}
	}
	if !pinned || !ok {
		return "", fmt.Errorf("module source %q is not installed; run ansflow init", source)
	}
	if have.Commit != pin.Commit {
		return "", fmt.Errorf("module source %q is installed at commit %s, but %s pins commit %s; run ansflow init to install the pinned commit", source, short(have.Commit), LockFile, short(pin.Commit))
	}
	return moduleDir(p.root, filepath.Join(ModulesDir, have.Dir), s)
}
