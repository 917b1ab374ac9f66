package cmd_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ansflow/ansflow/cmd"
	"github.com/ansflow/ansflow/providers/builtin"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ansflow": func() { os.Exit(cmd.Run(builtin.Registry)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script (one .txtar file per
// scenario). Set ANSFLOW_UPDATE_SCRIPTS=1 to rewrite their cmp files.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       os.Getenv("ANSFLOW_UPDATE_SCRIPTS") == "1",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("ANSFLOW_WORKSPACE", "")
			return nil
		},
	})
}
