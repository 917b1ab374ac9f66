package exec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// hashSources hashes the files named by the sources patterns (relative to
// dir): relative path, contents and the executable bit of every regular
// file, in path order, so the hash is the same on every machine. A pattern
// that matches nothing is an error: it is most likely a typo.
func hashSources(dir string, patterns []string) (string, error) {
	files := map[string]bool{}
	for _, pat := range patterns {
		full := pat
		if !filepath.IsAbs(full) {
			full = filepath.Join(dir, pat)
		}
		matches, err := filepath.Glob(full)
		if err != nil {
			return "", fmt.Errorf("sources: bad pattern %q: %v", pat, err)
		}
		if len(matches) == 0 {
			return "", fmt.Errorf("sources: %q matches no file in %s; fix the path or pattern", pat, dir)
		}
		for _, m := range matches {
			if err := collect(m, files); err != nil {
				return "", err
			}
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("sources: %v", err)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			rel = p
		}
		exe := "-"
		if info.Mode().Perm()&0o111 != 0 {
			exe = "x"
		}
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00", filepath.ToSlash(rel), exe, info.Size())
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("sources: %v", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("sources: reading %s: %v", p, err)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// collect adds path, or every regular file under it, to files. Hidden
// directories (.git, .ansflow) are skipped.
func collect(path string, files map[string]bool) error {
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("sources: %v", err)
		}
		if d.IsDir() {
			if p != path && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
			files[p] = true
		}
		return nil
	})
}
