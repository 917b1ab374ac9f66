package buildcontext

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

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
	m, err := LoadIgnore(dir, df)
	if err != nil {
		return nil, err
	}
	w := walker{root: dir, m: m, skip: map[string]bool{}}
	for _, e := range opts.Exclude {
		w.skip[path.Clean(e)] = true
	}
	if err := w.walk("", patternmatcher.MatchInfo{}); err != nil {
		return nil, err
	}
	return &Context{Dir: dir, Entries: w.entries, opts: opts}, nil
}

type walker struct {
	root    string
	m       *Matcher
	skip    map[string]bool
	entries []Entry
}

// walk appends the entries below the relative directory rel (slash form,
// "" for the root) in name order, applying the CLI's skip rules.
func (w *walker) walk(rel string, parent patternmatcher.MatchInfo) error {
	des, err := os.ReadDir(filepath.Join(w.root, filepath.FromSlash(rel)))
	if err != nil {
		return fmt.Errorf("reading build context: %w", err)
	}
	for _, de := range des {
		p := de.Name()
		if rel != "" {
			p = rel + "/" + p
		}
		if w.skip[p] {
			continue
		}
		excluded, info, err := w.m.pm.MatchesUsingParentResults(filepath.FromSlash(p), parent)
		if err != nil {
			return fmt.Errorf("matching %s patterns against %s: %w", IgnoreFile, p, err)
		}
		isDir := de.IsDir()
		if excluded {
			if isDir && !w.m.canSkipDir(p) {
				if err := w.walk(p, info); err != nil {
					return err
				}
			}
			continue
		}
		if err := w.add(p, de); err != nil {
			return err
		}
		if isDir {
			if err := w.walk(p, info); err != nil {
				return err
			}
		}
	}
	return nil
}

// add records one included entry; sockets, devices and pipes are left out.
func (w *walker) add(p string, de fs.DirEntry) error {
	fi, err := de.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed while walking
	}
	if err != nil {
		return fmt.Errorf("reading build context: %w", err)
	}
	e := Entry{Path: p, stat: statOf(fi)}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		e.Kind = KindDir
	case mode&fs.ModeSymlink != 0:
		e.Kind = KindSymlink
		if e.Target, err = os.Readlink(filepath.Join(w.root, filepath.FromSlash(p))); err != nil {
			return fmt.Errorf("reading build context: %w", err)
		}
	case mode.IsRegular():
		e.Kind = KindFile
		e.Size = fi.Size()
		e.Exec = mode&0o111 != 0
	default:
		return nil
	}
	w.entries = append(w.entries, e)
	return nil
}
