package cmd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestModuleSourceScripts runs the CLI scripts of testdata/modsource:
// ansflow init with remote (git::file://) module sources, built with git
// inside each script, the lock file and init -module. Set
// ANSFLOW_UPDATE_SCRIPTS=1 to rewrite their cmp files.
func TestModuleSourceScripts(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git is needed for module sources: %v", err)
		}
		t.Skipf("git is not installed: %v", err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "modsource"),
		UpdateScripts:       os.Getenv("ANSFLOW_UPDATE_SCRIPTS") == "1",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("ANSFLOW_WORKSPACE", "")
			// git without the user's configuration, with a fixed identity.
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			env.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
			for _, k := range []string{"AUTHOR", "COMMITTER"} {
				env.Setenv("GIT_"+k+"_NAME", "Test")
				env.Setenv("GIT_"+k+"_EMAIL", "test@example.com")
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// workdir FILE...: replaces $WORK in each file with the
			// script's work directory (for file:// sources).
			"workdir": func(ts *testscript.TestScript, neg bool, args []string) {
				for _, name := range args {
					text := ts.ReadFile(name)
					ts.Check(os.WriteFile(ts.MkAbs(name), []byte(strings.ReplaceAll(text, "$WORK", ts.Getenv("WORK"))), 0o644))
				}
			},
		},
	})
}
