package buildcontext

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// IgnoreFile is the name of the file that lists excluded paths.
const IgnoreFile = ".dockerignore"

// Matcher decides which paths of a context are excluded.
type Matcher struct {
	pm *patternmatcher.PatternMatcher
}

// ParseIgnore reads .dockerignore content and returns a Matcher that never
// excludes the .dockerignore file itself or dockerfile (a slash-separated
// path relative to the context), as the docker CLI does.
func ParseIgnore(r io.Reader, dockerfile string) (*Matcher, error) {
	return parseIgnore(r, IgnoreFile, dockerfile)
}

// parseIgnore reads the ignore file called name (slash-separated, relative
// to the context).
func parseIgnore(r io.Reader, name, dockerfile string) (*Matcher, error) {
	patterns, err := ignorefile.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	patterns = keepBuildFiles(patterns, name, dockerfile)
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("invalid pattern in %s: %w", name, err)
	}
	return &Matcher{pm: pm}, nil
}

// LoadIgnore reads dir/.dockerignore; a missing file excludes nothing.
func LoadIgnore(dir, dockerfile string) (*Matcher, error) {
	return loadIgnoreFile(dir, IgnoreFile, dockerfile)
}

// loadIgnoreFile reads the ignore file name (relative to dir); a missing
// file excludes nothing.
func loadIgnoreFile(dir, name, dockerfile string) (*Matcher, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if errors.Is(err, os.ErrNotExist) {
		return parseIgnore(strings.NewReader(""), name, dockerfile)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseIgnore(f, name, dockerfile)
}

// keepBuildFiles appends negations for the ignore file and the Dockerfile
// when a pattern would exclude them (the CLI's TrimBuildFilesFromExcludes).
func keepBuildFiles(patterns []string, ignoreFile, dockerfile string) []string {
	for _, keep := range []string{ignoreFile, path.Clean(filepath.ToSlash(dockerfile))} {
		if keep == "" || keep == "." {
			continue
		}
		if excluded, _ := patternmatcher.MatchesOrParentMatches(keep, patterns); excluded {
			patterns = append(patterns, "!"+keep)
		}
	}
	return patterns
}

// Excluded reports whether the slash-separated relative path p is excluded,
// looking at p and its parent directories but ignoring the walk's
// directory-skipping shortcut (see Walk for the exact selection).
func (m *Matcher) Excluded(p string) (bool, error) {
	return m.pm.MatchesOrParentMatches(filepath.FromSlash(p))
}

// canSkipDir reports whether an excluded directory can be skipped whole:
// true unless a negated pattern starts with the directory's path (the CLI's
// rule; a negation such as "!**/*.go" does not stop the skip).
func (m *Matcher) canSkipDir(rel string) bool {
	if !m.pm.Exclusions() {
		return true
	}
	dirSlash := filepath.FromSlash(rel) + string(filepath.Separator)
	for _, p := range m.pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+string(filepath.Separator), dirSlash) {
			return false
		}
	}
	return true
}
