package modules

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
)

// Installer installs the remote module sources the loader asks for: it is
// the config.ModuleResolver of `ansflow init`. Sources with a lock entry
// get their locked commit; new ones (and, with Upgrade, all) get the commit
// their ref names now. Finish writes the lock file.
type Installer struct {
	ctx     context.Context
	root    string
	git     *Git
	upgrade bool
	lock    *Lock
	have    manifest

	mu      sync.Mutex
	results map[string]*Result
	errs    map[string]error
}

// InstallOptions change how an Installer works.
type InstallOptions struct {
	// Upgrade resolves every ref again and moves the pins.
	Upgrade bool
	// Git runs git; nil means the git on PATH with this environment.
	Git *Git
}

// Action is what init did with a source.
type Action int

// What init did with a source.
const (
	// Installed: the source was fetched and checked out.
	Installed Action = iota
	// UpToDate: the pinned commit was already installed, unchanged.
	UpToDate
)

// Result is what happened to one source.
type Result struct {
	Source string
	// Dir is the installed copy, relative to the pipeline root.
	Dir    string
	Commit string
	Hash   string
	Action Action
	// Previous is the commit the lock file pinned before -upgrade moved it
	// ("" when the pin did not move).
	Previous string
	// Moved is the commit the ref names now when that differs from the
	// kept pin.
	Moved string
	// Warning says why the ref could not be checked, or that it is gone.
	Warning string
}

// NewInstaller reads the lock file and what is installed under root. ctx
// bounds every git command.
func NewInstaller(ctx context.Context, root string, o InstallOptions) (*Installer, hcl.Diagnostics) {
	lock, diags := ReadLock(root)
	if diags.HasErrors() {
		return nil, diags
	}
	have, err := readManifest(root)
	if err != nil {
		have = manifest{} // reinstall everything
	}
	g := o.Git
	if g == nil {
		g = &Git{}
	}
	return &Installer{
		ctx: ctx, root: root, git: g, upgrade: o.Upgrade, lock: lock, have: have,
		results: map[string]*Result{}, errs: map[string]error{},
	}, diags
}

// ResolveModule installs source (once per Installer) and returns the
// directory of the module in the installed copy.
func (in *Installer) ResolveModule(source string) (string, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if err, ok := in.errs[source]; ok {
		return "", err
	}
	s, err := ParseSource(source)
	if err == nil {
		r, ok := in.results[source]
		if !ok {
			r, err = in.install(s)
		}
		if err == nil {
			in.results[source] = r
			return moduleDir(in.root, r.Dir, s)
		}
	}
	in.errs[source] = err
	return "", err
}

// moduleDir is the module's directory inside the installed copy dir, which
// must exist, as an absolute path (whatever directory the loader resolves
// relative paths against).
func moduleDir(root, dir string, s Source) (string, error) {
	top, err := filepath.Abs(filepath.Join(root, dir))
	if err != nil {
		return "", err
	}
	p := filepath.Join(top, filepath.FromSlash(s.Subdir))
	if info, err := os.Stat(p); err != nil || !info.IsDir() {
		return "", fmt.Errorf("module source %q: the repository has no directory %q; check the //subdirectory part of the source", s.Raw, s.Subdir)
	}
	// A symbolic link in the repository must not lead out of it.
	realTop, err1 := filepath.EvalSymlinks(top)
	resolved, err2 := filepath.EvalSymlinks(p)
	if err := errors.Join(err1, err2); err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(realTop, resolved); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("module source %q: the directory %q is a symbolic link that leads out of the repository; point the source at a real directory", s.Raw, s.Subdir)
	}
	return p, nil
}

// install brings s to the commit it should have.
func (in *Installer) install(s Source) (*Result, error) {
	r := &Result{Source: s.Raw, Dir: filepath.Join(ModulesDir, s.DirName())}
	pin, pinned := in.lock.Pins[s.Raw]
	target := pin.Commit
	if !pinned || in.upgrade {
		now, err := in.git.resolveRef(in.ctx, s.Repo, s.Ref)
		if err != nil {
			return nil, fmt.Errorf("module source %q: %w", s.Raw, err)
		}
		target = now
		if pinned && !sameCommit(pin.Commit, now) {
			r.Previous = pin.Commit
		}
	} else {
		in.checkMoved(s, pin, r)
	}
	if have, ok := in.have[s.Raw]; ok && have.Dir == s.DirName() && sameCommit(have.Commit, target) {
		if h, err := hashTree(filepath.Join(in.root, r.Dir)); err == nil && h == have.Hash && (!pinned || r.Previous != "" || h == pin.Hash) {
			r.Commit, r.Hash, r.Action = have.Commit, h, UpToDate
			return r, nil
		}
	}
	want := ""
	if pinned && !in.upgrade {
		want = pin.Hash
	}
	if err := in.fetch(s, target, want, r); err != nil {
		return nil, err
	}
	return r, nil
}

// checkMoved tells (in r) when the ref of a pinned source no longer names
// the pinned commit. The pin is kept either way.
func (in *Installer) checkMoved(s Source, pin Pin, r *Result) {
	if s.Ref != "" && commitPattern.MatchString(s.Ref) && strings.HasPrefix(pin.Commit, s.Ref) {
		return // a commit id cannot move
	}
	now, err := in.git.resolveRef(in.ctx, s.Repo, s.Ref)
	switch {
	case err != nil:
		r.Warning = fmt.Sprintf("cannot check the ref: %v", err)
	case !sameCommit(pin.Commit, now):
		r.Moved = now
	}
}

// fetch checks target out into a fresh directory and, if its files hash to
// wantHash (any hash when ""), moves it into place.
func (in *Installer) fetch(s Source, target, wantHash string, r *Result) error {
	base := filepath.Join(in.root, ModulesDir)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(base, ".fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "tree")
	commit, err := in.git.checkout(in.ctx, s.Repo, target, tree)
	if err != nil {
		return fmt.Errorf("module source %q: %w", s.Raw, err)
	}
	hash, err := hashTree(tree)
	if err != nil {
		return err
	}
	if wantHash != "" && hash != wantHash {
		return fmt.Errorf("module source %q: the files of commit %s hash to %s, but the lock file recorded %s; check the repository, then run ansflow init -upgrade to accept the new content", s.Raw, short(commit), hash, wantHash)
	}
	dest := filepath.Join(in.root, r.Dir)
	if err := os.RemoveAll(dest); err != nil {
		return err
	}
	if err := os.Rename(tree, dest); err != nil {
		return err
	}
	r.Commit, r.Hash, r.Action = commit, hash, Installed
	in.have[s.Raw] = installed{Source: s.Raw, Dir: s.DirName(), Commit: commit, Hash: hash}
	return nil
}

// sameCommit compares a full commit id with a full or abbreviated one.
func sameCommit(full, other string) bool {
	return other != "" && strings.HasPrefix(full, other)
}

// short abbreviates a commit id as git log --oneline does.
func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}

// Results are the sources resolved so far, sorted.
func (in *Installer) Results() []*Result {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]*Result, 0, len(in.results))
	for _, r := range in.results {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// Finish records what is installed. With ok (the pipeline loaded without
// errors) it also writes the lock file (one pin per source resolved, stale
// entries dropped) and removes installed copies nothing uses any more. It
// reports whether the lock file changed. Nothing is written when nothing
// changed.
func (in *Installer) Finish(ok bool) (lockChanged bool, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !ok {
		return false, in.have.write(in.root)
	}
	keep := manifest{}
	lock := &Lock{Pins: map[string]Pin{}}
	for src, r := range in.results {
		keep[src] = installed{Source: src, Dir: filepath.Base(r.Dir), Commit: r.Commit, Hash: r.Hash}
		lock.Pins[src] = Pin{Commit: r.Commit, Hash: r.Hash}
	}
	if err := keep.write(in.root); err != nil {
		return false, err
	}
	if err := removeUnused(filepath.Join(in.root, ModulesDir), keep); err != nil {
		return false, err
	}
	name := filepath.Join(in.root, LockFile)
	if len(lock.Pins) == 0 {
		if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
	}
	return writeIfChanged(name, lock.Bytes(), 0o644)
}

// removeUnused deletes the installed copies under dir that keep does not
// list.
func removeUnused(dir string, keep manifest) error {
	used := map[string]bool{manifestFile: true}
	for _, e := range keep {
		used[e.Dir] = true
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !used[e.Name()] && !strings.HasPrefix(e.Name(), ".") {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
