package modules

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers/builtin"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoadWithInstaller: the loader, given an Installer, installs the
// remote modules of the pipeline and those they call; afterwards the
// Pinned resolver loads the same pipeline without git.
func TestLoadWithInstaller(t *testing.T) {
	env := gitEnv(t)
	lib := newTestRepo(t, env)
	lib.commit("lib", map[string]string{"main.hcl": "variable \"word\" {\n  type = string\n}\n\noutput \"upper\" {\n  value = upper(var.word)\n}\n"})
	lib.git("tag", "v1")
	libSrc := "git::" + lib.url() + "?ref=v1"
	svc := newTestRepo(t, env)
	svc.commit("svc", map[string]string{"svc/main.hcl": "module \"lib\" {\n  source = \"" + libSrc + "\"\n  word   = \"x\"\n}\n\noutput \"said\" {\n  value = module.lib.upper\n}\n"})
	svc.git("tag", "v1")
	svcSrc := "git::" + svc.url() + "//svc?ref=v1"

	root := t.TempDir()
	writeFiles(t, root, map[string]string{"main.hcl": "module \"api\" {\n  source = \"" + svcSrc + "\"\n}\n"})
	in := (&fixture{env: env}).installer(t, root, false)
	p, diags := config.LoadWith(root, config.Options{Schemas: builtin.Schemas(), Modules: in})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := map[string]bool{}
	for _, r := range in.Results() {
		got[r.Source] = true
	}
	if !got[svcSrc] || !got[libSrc] || len(got) != 2 {
		t.Errorf("installed %v, want %s and %s", got, svcSrc, libSrc)
	}
	if names := CallNames(p.Files); len(names[svcSrc]) != 1 || names[svcSrc][0] != "module.api" {
		t.Errorf("CallNames = %v", names)
	}
	if _, err := in.Finish(true); err != nil {
		t.Fatal(err)
	}
	if _, diags := config.LoadWith(root, config.Options{Schemas: builtin.Schemas(), Modules: NewPinned(root)}); diags.HasErrors() {
		t.Errorf("loading with the pinned resolver: %v", diags)
	}
}
