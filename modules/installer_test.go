package modules

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixture is a repository with two commits: v1 (tag, annotated) and v2
// (tag), a branch dev, and the module in the subdirectory mod.
type fixture struct {
	repo   *testRepo
	env    []string
	c1, c2 string
	c3     string // on dev only
}

func newFixture(t *testing.T) *fixture {
	env := gitEnv(t)
	r := newTestRepo(t, env)
	f := &fixture{repo: r, env: env}
	f.c1 = r.commit("one", map[string]string{"mod/main.hcl": "exec \"a\" { command = [\"echo\", \"1\"] }\n", "README": "one\n"})
	r.git("tag", "-a", "-m", "version 1", "v1")
	f.c2 = r.commit("two", map[string]string{"mod/main.hcl": "exec \"a\" { command = [\"echo\", \"2\"] }\n"})
	r.git("tag", "v2")
	r.git("checkout", "-q", "-b", "dev")
	f.c3 = r.commit("three", map[string]string{"mod/extra.hcl": "# dev\n"})
	if err := os.Symlink("/etc", filepath.Join(r.dir, "escape")); err != nil {
		t.Fatal(err)
	}
	r.git("add", "escape")
	r.git("commit", "-q", "-m", "a link out")
	f.c3 = r.git("rev-parse", "HEAD")
	r.git("checkout", "-q", "main")
	return f
}

func (f *fixture) installer(t *testing.T, root string, upgrade bool) *Installer {
	t.Helper()
	in, diags := NewInstaller(context.Background(), root, InstallOptions{Upgrade: upgrade, Git: &Git{Env: f.env}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return in
}

// initRun resolves sources like one `ansflow init` and finishes.
func (f *fixture) initRun(t *testing.T, root string, upgrade bool, sources ...string) ([]*Result, bool) {
	t.Helper()
	in := f.installer(t, root, upgrade)
	for _, s := range sources {
		if _, err := in.ResolveModule(s); err != nil {
			t.Fatalf("ResolveModule(%q): %v", s, err)
		}
	}
	changed, err := in.Finish(true)
	if err != nil {
		t.Fatal(err)
	}
	return in.Results(), changed
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstallRefs(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, query string
		commit      string
		file        string // a file the module dir must hold
	}{
		{"annotated tag", "?ref=v1", f.c1, "main.hcl"},
		{"tag", "?ref=v2", f.c2, "main.hcl"},
		{"branch", "?ref=dev", f.c3, "extra.hcl"},
		{"default branch", "", f.c2, "main.hcl"},
		{"full commit", "?ref=" + f.c3, f.c3, "extra.hcl"},
		{"abbreviated commit", "?ref=" + f.c1[:9], f.c1, "main.hcl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			src := "git::" + f.repo.url() + "//mod" + tt.query
			in := f.installer(t, root, false)
			dir, err := in.ResolveModule(src)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, ".ansflow", "modules"); !strings.HasPrefix(dir, want) || filepath.Base(dir) != "mod" {
				t.Errorf("dir = %s, want .../mod under %s", dir, want)
			}
			if _, err := os.Stat(filepath.Join(dir, tt.file)); err != nil {
				t.Errorf("the installed module lacks %s: %v", tt.file, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "..", ".git")); err == nil {
				t.Errorf("the installed copy keeps its .git directory")
			}
			if _, err := in.Finish(true); err != nil {
				t.Fatal(err)
			}
			lock, diags := ReadLock(root)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if got := lock.Pins[src].Commit; got != tt.commit {
				t.Errorf("locked commit = %s, want %s", got, tt.commit)
			}
		})
	}
}

func TestInstallErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ src, want string }{
		{"git::" + f.repo.url() + "?ref=nope", `has no tag or branch named "nope"`},
		{"git::" + f.repo.url() + "//missing?ref=v1", `the repository has no directory "missing"`},
		{"git::file:///does/not/exist?ref=v1", "cannot read the refs of file:///does/not/exist"},
		{"git::" + f.repo.url() + "?ref=0123456789abcdef0123456789abcdef01234567", "cannot fetch commit 0123456"},
		{"https://example.com/x", "must start with git::"},
		{"git::" + f.repo.url() + "//escape?ref=dev", "leads out of the repository"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			root := t.TempDir()
			in := f.installer(t, root, false)
			_, err := in.ResolveModule(tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ResolveModule(%q) error = %v, want %q", tt.src, err, tt.want)
			}
			if _, again := in.ResolveModule(tt.src); again == nil || again.Error() != err.Error() {
				t.Errorf("a second call gave %v", again)
			}
			if _, err := in.Finish(false); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(root, LockFile)); err == nil {
				t.Errorf("a failed init wrote the lock file")
			}
		})
	}
}

// TestLockGolden installs two sources and compares the lock file with
// testdata/lock.golden (commit ids are stable: the fixture fixes dates and
// identity). Refresh with go test ./modules/ -run TestLockGolden -update.
func TestLockGolden(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	srcs := []string{"git::" + f.repo.url() + "//mod?ref=v2", "git::" + f.repo.url() + "//mod?ref=v1"}
	if _, changed := f.initRun(t, root, false, srcs...); !changed {
		t.Errorf("the first init reports the lock file unchanged")
	}
	got := strings.ReplaceAll(readFile(t, filepath.Join(root, LockFile)), f.repo.url(), "file:///REPO")
	golden := filepath.Join("testdata", "lock.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readFile(t, golden); got != want {
		t.Errorf("lock file:\n%s\nwant (%s):\n%s", got, golden, want)
	}
	lock, diags := ReadLock(root)
	if diags.HasErrors() || len(lock.Pins) != 2 {
		t.Fatalf("ReadLock: %v %v", lock.Pins, diags)
	}
}

// TestInitIdempotent: a second init with nothing changed writes nothing.
func TestInitIdempotent(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	src := "git::" + f.repo.url() + "//mod?ref=v1"
	f.initRun(t, root, false, src)
	files := []string{LockFile, filepath.Join(ModulesDir, manifestFile)}
	entries, _ := os.ReadDir(filepath.Join(root, ModulesDir))
	for _, e := range entries {
		if e.IsDir() {
			files = append(files, filepath.Join(ModulesDir, e.Name(), "mod", "main.hcl"), filepath.Join(ModulesDir, e.Name()))
		}
	}
	before := modTimes(t, root, files)
	time.Sleep(10 * time.Millisecond) // so that a rewrite would show in the times
	results, changed := f.initRun(t, root, false, src)
	if changed {
		t.Errorf("the second init rewrote the lock file")
	}
	if len(results) != 1 || results[0].Action != UpToDate {
		t.Errorf("results = %+v, want one UpToDate", results[0])
	}
	if after := modTimes(t, root, files); !equalMaps(before, after) {
		t.Errorf("the second init touched files: before %v, after %v", before, after)
	}
}

func modTimes(t *testing.T, root string, names []string) map[string]time.Time {
	t.Helper()
	m := map[string]time.Time{}
	for _, n := range names {
		info, err := os.Stat(filepath.Join(root, n))
		if err != nil {
			t.Fatal(err)
		}
		m[n] = info.ModTime()
	}
	return m
}

func equalMaps(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !b[k].Equal(v) {
			return false
		}
	}
	return true
}

// TestMovedTag: a tag moved after init keeps the pin (and says so) until
// init -upgrade moves it.
func TestMovedTag(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	src := "git::" + f.repo.url() + "//mod?ref=v2"
	f.initRun(t, root, false, src)
	c4 := f.repo.commit("four", map[string]string{"mod/main.hcl": "# moved\n"})
	f.repo.git("tag", "-f", "v2")
	// Force a fresh fetch as well: the locked commit, not the tag, is checked out.
	if err := os.RemoveAll(filepath.Join(root, ModulesDir)); err != nil {
		t.Fatal(err)
	}
	results, changed := f.initRun(t, root, false, src)
	if changed || results[0].Commit != f.c2 || results[0].Moved != c4 || results[0].Action != Installed {
		t.Fatalf("init after the tag moved: changed=%v %+v; want the pin %s kept and Moved %s", changed, results[0], f.c2, c4)
	}
	var out strings.Builder
	WriteReport(&out, results, map[string][]string{src: {"module.api"}})
	for _, want := range []string{"- module.api: " + src + " (commit " + f.c2[:7] + ")", "the ref now names commit " + c4[:7], "ansflow init -upgrade"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report:\n%s\nwant %q", out.String(), want)
		}
	}
	dir, err := NewPinned(root).ResolveModule(src)
	if err != nil || !strings.Contains(readFile(t, filepath.Join(dir, "main.hcl")), `"2"`) {
		t.Fatalf("the pinned copy is not commit two: %v", err)
	}

	results, changed = f.initRun(t, root, true, src)
	if !changed || results[0].Commit != c4 || results[0].Previous != f.c2 {
		t.Fatalf("init -upgrade: changed=%v %+v; want %s -> %s", changed, results[0], f.c2, c4)
	}
	out.Reset()
	WriteReport(&out, results, nil)
	if want := "(commit " + f.c2[:7] + " -> " + c4[:7] + ")"; !strings.Contains(out.String(), want) {
		t.Errorf("report:\n%s\nwant %q", out.String(), want)
	}
	if _, changed = f.initRun(t, root, true, src); changed {
		t.Errorf("a second init -upgrade rewrote the lock file")
	}
}

// TestDeletedTag: the tag of a pinned source is gone; init keeps the pin,
// warns, and can still install the locked commit.
func TestDeletedTag(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	src := "git::" + f.repo.url() + "//mod?ref=v1"
	f.initRun(t, root, false, src)
	f.repo.git("tag", "-d", "v1")
	if err := os.RemoveAll(filepath.Join(root, ModulesDir)); err != nil {
		t.Fatal(err)
	}
	results, changed := f.initRun(t, root, false, src)
	if changed || results[0].Commit != f.c1 || !strings.Contains(results[0].Warning, `no tag or branch named "v1"`) {
		t.Fatalf("init after the tag was deleted: changed=%v %+v", changed, results[0])
	}
	in := f.installer(t, root, true)
	if _, err := in.ResolveModule(src); err == nil || !strings.Contains(err.Error(), `no tag or branch named "v1"`) {
		t.Errorf("init -upgrade of a deleted tag: %v", err)
	}
}

// TestStaleEntries: a source whose ref changed is a new entry; the old
// entry and its installed copy go.
func TestStaleEntries(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	v1, v2 := "git::"+f.repo.url()+"//mod?ref=v1", "git::"+f.repo.url()+"//mod?ref=v2"
	f.initRun(t, root, false, v1)
	oldDir, err := NewPinned(root).ResolveModule(v1)
	if err != nil {
		t.Fatal(err)
	}
	f.initRun(t, root, false, v2)
	lock, _ := ReadLock(root)
	if _, ok := lock.Pins[v1]; ok || lock.Pins[v2].Commit != f.c2 || len(lock.Pins) != 1 {
		t.Errorf("lock after the ref changed: %v", lock.Pins)
	}
	if _, err := os.Stat(oldDir); err == nil {
		t.Errorf("the copy of the old ref %s was kept", oldDir)
	}
	if _, err := NewPinned(root).ResolveModule(v1); err == nil || !strings.Contains(err.Error(), "is not installed; run ansflow init") {
		t.Errorf("resolving the dropped source: %v", err)
	}
}

// TestPinned: plan's resolver reads only the lock file and the installed
// copies.
func TestPinned(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	src := "git::" + f.repo.url() + "//mod?ref=v1"
	notInstalled := `module source "` + src + `" is not installed; run ansflow init`
	if _, err := NewPinned(root).ResolveModule(src); err == nil || err.Error() != notInstalled {
		t.Fatalf("before init: %v", err)
	}
	f.initRun(t, root, false, src)
	dir, err := NewPinned(root).ResolveModule(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "main.hcl")); err != nil {
		t.Errorf("pinned dir %s: %v", dir, err)
	}

	// The lock file moves (a teammate ran init -upgrade and committed it).
	lock, _ := ReadLock(root)
	lock.Pins[src] = Pin{Commit: f.c2, Hash: lock.Pins[src].Hash}
	if err := os.WriteFile(filepath.Join(root, LockFile), lock.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewPinned(root).ResolveModule(src)
	want := "is installed at commit " + f.c1[:7] + ", but .ansflow.lock.hcl pins commit " + f.c2[:7] + "; run ansflow init"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("after the pin moved: %v, want %q", err, want)
	}

	// A missing install.
	if err := os.RemoveAll(filepath.Join(root, ModulesDir)); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPinned(root).ResolveModule(src); err == nil || err.Error() != notInstalled {
		t.Errorf("without .ansflow/modules: %v", err)
	}

	// A broken lock file.
	if err := os.WriteFile(filepath.Join(root, LockFile), []byte("module \"x\" {\n  commit = 1\n  hash = \"h1:x\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewPinned(root).ResolveModule(src)
	if err == nil || !strings.Contains(err.Error(), LockFile+":2:") {
		t.Errorf("with a broken lock file: %v", err)
	}
}

// TestModifiedCopy: init reinstalls a copy whose files were edited.
func TestModifiedCopy(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	src := "git::" + f.repo.url() + "//mod?ref=v1"
	f.initRun(t, root, false, src)
	dir, _ := NewPinned(root).ResolveModule(src)
	main := filepath.Join(dir, "main.hcl")
	want := readFile(t, main)
	if err := os.WriteFile(main, []byte("# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	results, changed := f.initRun(t, root, false, src)
	if changed || results[0].Action != Installed || readFile(t, main) != want {
		t.Errorf("init after an edit: changed=%v %+v, main.hcl %q", changed, results[0], readFile(t, main))
	}
}

func TestReadLockErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"module \"s\" {\n  commit = \"abc\"\n}\n", `The argument "hash" is required`},
		{"module \"s\" {\n  commit = \"xyz\"\n  hash = \"h1:x\"\n}\n", `"xyz" is not a commit id`},
		{"module \"s\" {\n  commit = 1\n  hash = \"h1:x\"\n}\n", "commit must be a string"},
		{"provider \"x\" {}\n", `Blocks of type "provider" are not expected here`},
		{"module \"s\" {\n", "Unclosed configuration block"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, LockFile), []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, diags := ReadLock(root)
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.want) {
				t.Errorf("ReadLock: %v, want %q", diags, tt.want)
			}
			for _, d := range diags {
				if d.Subject == nil || d.Subject.Filename != filepath.Join(root, LockFile) {
					t.Errorf("diagnostic without the lock file's range: %v", d)
				}
			}
		})
	}
}

// TestInstallPlainPathAndEnv: git::/abs/path works, GIT_DIR in the
// environment (as inside a git hook) does not redirect git, and a relative
// pipeline directory still gives an absolute module directory.
func TestInstallPlainPathAndEnv(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	src := "git::" + f.repo.dir + "//mod?ref=v1"
	env := append(append([]string(nil), f.env...), "GIT_DIR="+filepath.Join(t.TempDir(), "elsewhere.git"))
	t.Chdir(filepath.Dir(root))
	in, diags := NewInstaller(context.Background(), filepath.Base(root), InstallOptions{Git: &Git{Env: env}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dir, err := in.ResolveModule(src)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(dir) || !strings.HasPrefix(dir, root) {
		t.Errorf("ResolveModule with a relative root = %s, want an absolute path under %s", dir, root)
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "main.hcl")), `"1"`) {
		t.Errorf("%s is not commit one", dir)
	}
}

// TestInstallCancelled: a cancelled context stops git and leaves nothing
// behind.
func TestInstallCancelled(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in, _ := NewInstaller(ctx, root, InstallOptions{Git: &Git{Env: f.env}})
	_, err := in.ResolveModule("git::" + f.repo.url() + "?ref=v1")
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("ResolveModule with a cancelled context: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, ModulesDir)); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
