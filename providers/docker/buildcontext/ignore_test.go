package buildcontext

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeTree creates the files (paths ending in "/" are directories) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func entryPaths(c *Context) []string {
	var ps []string
	for _, e := range c.Entries {
		p := e.Path
		if e.Kind == KindDir {
			p += "/"
		}
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func TestLoadHonoursDockerignore(t *testing.T) {
	tree := []string{
		"Dockerfile", "main.go", "README.md", "app/bin/app", "app/main.go",
		"docs/a.md", "docs/keep.md", "node_modules/x/index.js", "sub/deep/x.log",
		"x.log", "vendor/lib.go", "vendor/lib_test.go", "build/Dockerfile.prod",
	}
	tests := []struct {
		name       string
		ignore     string
		dockerfile string
		want       []string // files and dirs (trailing /) sent, sorted
	}{
		{
			name: "no ignore file", ignore: "-",
			want: []string{"Dockerfile", "README.md", "app/", "app/bin/", "app/bin/app", "app/main.go", "build/", "build/Dockerfile.prod", "docs/", "docs/a.md", "docs/keep.md", "main.go", "node_modules/", "node_modules/x/", "node_modules/x/index.js", "sub/", "sub/deep/", "sub/deep/x.log", "vendor/", "vendor/lib.go", "vendor/lib_test.go", "x.log"},
		},
		{
			name:   "directory pattern and comment",
			ignore: "# deps\nnode_modules\ndocs/\nbuild\nsub\nvendor\napp\n",
			want:   []string{".dockerignore", "Dockerfile", "README.md", "main.go", "x.log"},
		},
		{
			name:   "star matches one level only",
			ignore: "*.log\nnode_modules\ndocs\nbuild\nsub\nvendor\napp\n",
			want:   []string{".dockerignore", "Dockerfile", "README.md", "main.go"},
		},
		{
			name:   "double star matches any depth",
			ignore: "**/*.log\nnode_modules\ndocs\nbuild\nvendor\napp\n",
			want:   []string{".dockerignore", "Dockerfile", "README.md", "main.go", "sub/", "sub/deep/"},
		},
		{
			name:   "negation re-includes a file in an excluded directory",
			ignore: "docs\n!docs/keep.md\nnode_modules\nbuild\nsub\nvendor\napp\n*.log\n",
			want:   []string{".dockerignore", "Dockerfile", "README.md", "docs/keep.md", "main.go"},
		},
		{
			name:   "later pattern wins",
			ignore: "*.md\n!README.md\nnode_modules\ndocs\nbuild\nsub\nvendor\napp\n*.log\n",
			want:   []string{".dockerignore", "Dockerfile", "README.md", "main.go"},
		},
		{
			name:   "negation with double star does not stop a directory skip",
			ignore: "vendor\n!**/*.go\nnode_modules\ndocs\nbuild\nsub\napp\n*.log\n",
			want:   []string{".dockerignore", "Dockerfile", "README.md", "main.go"},
		},
		{
			name:   "exclude everything keeps Dockerfile and .dockerignore",
			ignore: "*\n",
			want:   []string{".dockerignore", "Dockerfile"},
		},
		{
			name:   "exclude everything but the app binary",
			ignore: "*\n!app/bin\n",
			want:   []string{".dockerignore", "Dockerfile", "app/bin/", "app/bin/app"},
		},
		{
			name:       "dockerfile in a subdirectory is kept",
			ignore:     "build\n*\n",
			dockerfile: "build/Dockerfile.prod",
			want:       []string{".dockerignore", "build/Dockerfile.prod"},
		},
		{
			name:   "leading slash and dot segments are cleaned",
			ignore: "/node_modules\n./docs\nbuild/../build\nsub\nvendor\napp\n*.log\n",
			want:   []string{".dockerignore", "Dockerfile", "README.md", "main.go"},
		},
		{
			name:   "question mark and character class",
			ignore: "?.log\nma[a-i]n.go\nnode_modules\ndocs\nbuild\nsub\nvendor\napp\n",
			want:   []string{".dockerignore", "Dockerfile", "README.md"},
		},
		{
			name:   "ignore the ignore file itself is overridden",
			ignore: ".dockerignore\nDockerfile\nnode_modules\ndocs\nbuild\nsub\nvendor\napp\n*.log\n",
			want:   []string{".dockerignore", "Dockerfile", "README.md", "main.go"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{}
			for _, p := range tree {
				files[p] = "content of " + p
			}
			if tt.ignore != "-" {
				files[IgnoreFile] = tt.ignore
			}
			writeTree(t, dir, files)
			c, err := Load(dir, Options{Dockerfile: tt.dockerfile})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, entryPaths(c)); diff != "" {
				t.Errorf("context entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadExtraExclude(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch", ".ansflow/cache/x": "1", "a": "a"})
	c, err := Load(dir, Options{Exclude: []string{".ansflow"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Dockerfile", "a"}, entryPaths(c)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch"})
	for _, tt := range []struct{ dir, dockerfile, want string }{
		{dir, "../Dockerfile", "must be inside the build context"},
		{dir, "Missing.Dockerfile", "not found in the build context"},
		{filepath.Join(dir, "nope"), "", "build context"},
	} {
		_, err := Load(tt.dir, Options{Dockerfile: tt.dockerfile})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%s, %q) error = %v, want it to contain %q", tt.dir, tt.dockerfile, err, tt.want)
		}
	}
}

func FuzzDockerignore(f *testing.F) {
	for _, seed := range []struct{ ignore, path string }{
		{"*.log\n!keep.log", "keep.log"},
		{"**/node_modules", "a/b/node_modules/x"},
		{"docs/\n!docs/README.md", "docs/README.md"},
		{"[a-", "a"},
		{"\\", "x"},
		{"# comment\n/abs/path\n../up", "abs/path/file"},
		{"*", "Dockerfile"},
	} {
		f.Add(seed.ignore, seed.path)
	}
	f.Fuzz(func(t *testing.T, ignore, p string) {
		m, err := ParseIgnore(strings.NewReader(ignore), "Dockerfile")
		if err != nil {
			return // a bad pattern is reported, not a crash
		}
		// The build files are never excluded, whatever the patterns say.
		for _, keep := range []string{"Dockerfile", IgnoreFile} {
			if ex, err := m.Excluded(keep); err == nil && ex {
				t.Fatalf("%s excluded by %q", keep, ignore)
			}
		}
		ex1, err1 := m.Excluded(p)
		ex2, err2 := m.Excluded(p)
		if ex1 != ex2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("Excluded(%q) is not deterministic", p)
		}
		// A literal pattern naming a plain file excludes that file.
		if isPlainName(p) {
			m2, err := ParseIgnore(strings.NewReader(p), "Dockerfile")
			if err != nil {
				t.Fatalf("literal pattern %q rejected: %v", p, err)
			}
			if ex, err := m2.Excluded(p); err != nil || !ex {
				t.Fatalf("pattern %q does not exclude %q (err %v)", p, p, err)
			}
		}
	})
}

// isPlainName reports whether s is a simple file name with no pattern
// syntax, so that it matches itself literally.
func isPlainName(s string) bool {
	if s == "" || s == "." || s == ".." || s == "Dockerfile" || s == IgnoreFile || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return s[0] != '.' || len(s) > 2
}

func TestLoadDockerfileIgnore(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"build/app.Dockerfile": "FROM scratch", "build/app.Dockerfile.dockerignore": "*.log\n",
		".dockerignore": "src\n", "src/main.go": "package main", "x.log": "noise",
	})
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"BuildKit: the Dockerfile's own ignore file wins",
			Options{Dockerfile: "build/app.Dockerfile", DockerfileIgnore: true},
			[]string{".dockerignore", "build/", "build/app.Dockerfile", "build/app.Dockerfile.dockerignore", "src/", "src/main.go"}},
		{"legacy: .dockerignore only",
			Options{Dockerfile: "build/app.Dockerfile"},
			[]string{".dockerignore", "build/", "build/app.Dockerfile", "build/app.Dockerfile.dockerignore", "x.log"}},
		{"BuildKit without a per-Dockerfile file: .dockerignore",
			Options{DockerfileIgnore: true, Dockerfile: "src/main.go"},
			[]string{".dockerignore", "build/", "build/app.Dockerfile", "build/app.Dockerfile.dockerignore", "src/main.go", "x.log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, entryPaths(c)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}
