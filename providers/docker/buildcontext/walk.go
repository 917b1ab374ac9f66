package buildcontext

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/moby/patternmatcher"
)

// Kind is the type of a context entry.
type Kind uint8

const (
	KindFile Kind = iota
	KindDir
	KindSymlink
)

func (k Kind) String() string {
	switch k {
	case KindDir:
		return "dir"
	case KindSymlink:
		return "symlink"
	default:
		return "file"
	}
}

// Entry is one path of the build context that is sent to the engine.
type Entry struct {
	Path   string // slash-separated, relative to the context directory
	Kind   Kind
	Exec   bool   // any executable bit set (files only)
	Size   int64  // bytes (files only)
	Target string // link target (symlinks only)
	stat   statKey
}

// Options say how to select a context.
type Options struct {
	// Dockerfile is the Dockerfile's path relative to the context directory
	// (default "Dockerfile"); it is never excluded.
	Dockerfile string
	// Exclude lists further slash-separated relative paths to leave out, on
	// top of .dockerignore (e.g. ansflow's own .ansflow directory).
	Exclude []string
	// CacheFile is where Hash keeps its stat cache; empty disables it.
	CacheFile string
	// DockerfileIgnore makes <Dockerfile>.dockerignore, when it exists,
	// replace .dockerignore, as BuildKit does.
	DockerfileIgnore bool
}

// Context is a selected build context: the directory and, in walk order,
// every entry that is not excluded.
type Context struct {
	Dir     string
	Entries []Entry
	opts    Options
}

// Load reads dir/.dockerignore and selects the context entries the docker
// CLI would send.
func Load(dir string, opts Options) (*Context, error) {
	if opts.Dockerfile == "" {
		opts.Dockerfile = "Dockerfile"
	}
	df := path.Clean(filepath.ToSlash(opts.Dockerfile))
	if path.IsAbs(df) || df == ".." || strings.HasPrefix(df, "../") {
		return nil, fmt.Errorf("dockerfile %q must be inside the build context %s", opts.Dockerfile, dir)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("build context %s is not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(df))); err != nil {
		return nil, fmt.Errorf("dockerfile %q not found in the build context %s: %w", opts.Dockerfile, dir, err)
	}
	ignore := IgnoreFile
	if opts.DockerfileIgnore {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(df+IgnoreFile))); err == nil {
			ignore = df + IgnoreFile
		}
	}
	m, err := loadIgnoreFile(dir, ignore, df)
	if err != nil {
		return nil, err
	}
	w := walker{root: dir, m: m, skip: map[string]bool{}, sem: make(chan struct{}, runtime.GOMAXPROCS(0))}
	for _, e := range opts.Exclude {
		w.skip[path.Clean(e)] = true
	}
	entries, err := w.walk("", patternmatcher.MatchInfo{})
	if err != nil {
		return nil, err
	}
	return &Context{Dir: dir, Entries: entries, opts: opts}, nil
}

// walker lists a context. Subdirectories are walked concurrently (up to
// GOMAXPROCS at once) and their results spliced back in name order, so the
// entry order is deterministic.
type walker struct {
	root string
	m    *Matcher
	skip map[string]bool
	sem  chan struct{} // tokens for extra goroutines

	matchMu sync.Mutex // the pattern matcher compiles lazily: not concurrency-safe
}

// subtree is the result of walking one directory.
type subtree struct {
	entries []Entry
	err     error
	done    chan struct{}
}

// walk returns the entries below the relative directory rel (slash form,
// "" for the root) in name order, applying the CLI's skip rules.
func (w *walker) walk(rel string, parent patternmatcher.MatchInfo) ([]Entry, error) {
	des, err := os.ReadDir(filepath.Join(w.root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, fmt.Errorf("reading build context: %w", err)
	}
	type item struct {
		entry *Entry
		sub   *subtree
	}
	items := make([]item, 0, len(des))
	for _, de := range des {
		p := de.Name()
		if rel != "" {
			p = rel + "/" + p
		}
		if w.skip[p] {
			continue
		}
		excluded, info, err := w.match(p, parent)
		if err != nil {
			return nil, err
		}
		isDir := de.IsDir()
		if !excluded {
			e, ok, err := w.entry(p, de)
			if err != nil {
				return nil, err
			}
			if ok {
				items = append(items, item{entry: &e})
			}
		}
		if isDir && (!excluded || !w.m.canSkipDir(p)) {
			items = append(items, item{sub: w.spawn(p, info)})
		}
	}
	var out []Entry
	for _, it := range items {
		if it.entry != nil {
			out = append(out, *it.entry)
			continue
		}
		<-it.sub.done
		if it.sub.err != nil {
			return nil, it.sub.err
		}
		out = append(out, it.sub.entries...)
	}
	return out, nil
}

// spawn walks rel in a new goroutine when a token is free, else inline.
func (w *walker) spawn(rel string, info patternmatcher.MatchInfo) *subtree {
	s := &subtree{done: make(chan struct{})}
	run := func() {
		defer close(s.done)
		s.entries, s.err = w.walk(rel, info)
	}
	select {
	case w.sem <- struct{}{}:
		go func() {
			defer func() { <-w.sem }()
			run()
		}()
	default:
		run()
	}
	return s
}

func (w *walker) match(p string, parent patternmatcher.MatchInfo) (bool, patternmatcher.MatchInfo, error) {
	if len(w.m.pm.Patterns()) == 0 {
		return false, parent, nil
	}
	w.matchMu.Lock()
	defer w.matchMu.Unlock()
	excluded, info, err := w.m.pm.MatchesUsingParentResults(filepath.FromSlash(p), parent)
	if err != nil {
		return false, info, fmt.Errorf("matching %s patterns against %s: %w", IgnoreFile, p, err)
	}
	return excluded, info, nil
}

// entry describes one included path; sockets, devices and pipes are left
// out (ok = false), as are paths removed while walking.
func (w *walker) entry(p string, de fs.DirEntry) (Entry, bool, error) {
	fi, err := de.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("reading build context: %w", err)
	}
	e := Entry{Path: p, stat: statOf(fi)}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		e.Kind = KindDir
	case mode&fs.ModeSymlink != 0:
		e.Kind = KindSymlink
		if e.Target, err = os.Readlink(filepath.Join(w.root, filepath.FromSlash(p))); err != nil {
			return Entry{}, false, fmt.Errorf("reading build context: %w", err)
		}
	case mode.IsRegular():
		e.Kind = KindFile
		e.Size = fi.Size()
		e.Exec = mode&0o111 != 0
	default:
		return Entry{}, false, nil
	}
	return e, true, nil
}

// Excludes are the extra excluded paths (Options.Exclude), for a transfer
// that applies .dockerignore itself.
func (c *Context) Excludes() []string { return append([]string(nil), c.opts.Exclude...) }
