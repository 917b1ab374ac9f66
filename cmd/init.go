package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ansflow/ansflow/modules"
	"github.com/spf13/cobra"
)

// initOptions are the flags of ansflow init.
type initOptions struct {
	force   bool
	upgrade bool
	module  string
}

func newInitCommand(app *App, g *globalOptions) *cobra.Command {
	var o initOptions
	c := &cobra.Command{
		Use:   "init [flags]",
		Short: "Install the pipeline's remote modules, or write a starter pipeline",
		Long: `In a directory without pipeline files, writes main.hcl (a small pipeline of
exec steps you can apply at once, with Docker and Kubernetes steps sketched in
comments) and a .gitignore for the .ansflow working directory.

In a directory with a pipeline, installs every remote module source
(git::https://host/org/repo.git//sub/dir?ref=v1.2.0, git::file:///path/repo),
including those that remote modules call, into .ansflow/modules with the git
command-line tool, and pins each to a commit in .ansflow.lock.hcl (commit
that file with the pipeline). A source already in the lock file gets its
locked commit, even if its tag or branch has moved since (init says so);
-upgrade resolves every ref again and moves the pins. plan, apply and
validate use only the lock file and .ansflow/modules, never the network.
Nothing is rewritten when nothing changed.

-module=NAME writes a starter module into modules/NAME (variables.hcl,
main.hcl, outputs.hcl) and prints the module block that calls it.

Existing files are left alone unless -force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.module != "" {
				return runInitModule(app, g, o)
			}
			return runInit(cmd.Context(), app, g, o)
		},
	}
	c.Flags().BoolVar(&o.force, "force", false, "overwrite existing files")
	c.Flags().BoolVar(&o.upgrade, "upgrade", false, "resolve every module ref again and move the pins in .ansflow.lock.hcl")
	c.Flags().StringVar(&o.module, "module", "", "write a starter module into modules/`NAME` instead")
	return c
}

// runInit writes the starter pipeline into a directory without one, and
// installs the remote modules of an existing pipeline.
func runInit(ctx context.Context, app *App, g *globalOptions, o initOptions) error {
	dir := g.dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create the pipeline directory %s: %v", dir, errors.Unwrap(err))
	}
	existing := hasPipelineFiles(dir)
	files := map[string]string{"main.hcl": starterPipeline, ".gitignore": ".ansflow/\n"}
	names := []string{".gitignore"}
	if !existing || o.force {
		names = []string{"main.hcl", ".gitignore"}
	}
	for _, name := range names {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err == nil && !o.force {
			fmt.Fprintf(app.Stdout, "%s exists; left as it is (use -force to overwrite).\n", path)
			continue
		}
		if err := os.WriteFile(path, []byte(files[name]), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(app.Stdout, "Wrote %s\n", path)
	}
	if existing {
		if err := installModules(ctx, app, g, o); err != nil {
			return err
		}
	}
	fmt.Fprintf(app.Stdout, "\nansflow is ready. Next:\n  ansflow%s plan\n  ansflow%s apply\n", chdirHint(g), chdirHint(g))
	return nil
}

// hasPipelineFiles reports whether dir holds a pipeline file (*.hcl, not a
// dotfile nor a *.vars.hcl variable file).
func hasPipelineFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".hcl") && !strings.HasSuffix(n, ".vars.hcl") {
			return true
		}
	}
	return false
}

// installModules loads the pipeline with an installer as its module
// resolver, so that every remote source it (or a remote module) calls is
// installed, then writes the lock file.
func installModules(ctx context.Context, app *App, g *globalOptions, o initOptions) error {
	dir := g.dir()
	in, diags := modules.NewInstaller(ctx, dir, modules.InstallOptions{Upgrade: o.upgrade, Git: &modules.Git{Env: app.Environ}})
	if diags.HasErrors() {
		return diagsError(app, g, nil, diags)
	}
	p, diags := loadConfigWith(dir, in)
	var names map[string][]string
	if p != nil {
		names = modules.CallNames(p.Files)
	}
	results := in.Results()
	fmt.Fprintln(app.Stdout)
	modules.WriteReport(app.Stdout, results, names)
	changed, err := in.Finish(!diags.HasErrors())
	if err != nil {
		return fmt.Errorf("recording the installed modules: %w", err)
	}
	if err := diagsError(app, g, p, diags); err != nil {
		fmt.Fprintf(app.Stderr, "The lock file was not changed; fix the errors above and run ansflow init again.\n")
		return err
	}
	lock := filepath.Join(dir, modules.LockFile)
	switch {
	case changed && len(results) == 0:
		fmt.Fprintf(app.Stdout, "The pipeline calls no remote modules; dropped the stale pins from %s.\n", lock)
	case len(results) == 0:
		fmt.Fprintln(app.Stdout, "The pipeline calls no remote modules; nothing to install.")
	case changed:
		fmt.Fprintf(app.Stdout, "\nWrote %s: commit it with the pipeline so that every run uses these commits.\n", lock)
	default:
		fmt.Fprintf(app.Stdout, "\n%s is up to date.\n", lock)
	}
	return nil
}

// runInitModule scaffolds modules/NAME.
func runInitModule(app *App, g *globalOptions, o initOptions) error {
	written, err := modules.Scaffold(g.dir(), o.module, o.force)
	if err != nil {
		return &exitError{code: 1, msg: "Error: " + err.Error()}
	}
	for _, p := range written {
		fmt.Fprintf(app.Stdout, "Wrote %s\n", p)
	}
	fmt.Fprintf(app.Stdout, "\nCall the module from a pipeline file:\n\n%s\nthen run ansflow%s plan.\n", modules.CallExample(o.module), chdirHint(g))
	return nil
}

func chdirHint(g *globalOptions) string {
	if g.chdir == "" {
		return ""
	}
	return " -chdir=" + g.chdir
}

const starterPipeline = `# An ansflow pipeline. Every *.hcl file in this directory is read.
# Try:  ansflow plan   then   ansflow apply
# Docs: ansflow --help, and docs/ in the ansflow repository.

variable "build_number" {
  type        = string
  default     = "dev"
  description = "Build number, e.g. from CI: -var build_number=$CI_PIPELINE_ID"
}

locals {
  app = "my-app"
}

exec "hello" {
  command = ["echo", "building ${local.app} ${var.build_number} on branch '${git.branch}'"]
}

exec "test" {
  command    = ["sh", "-c", "echo tests pass"]
  depends_on = [exec.hello]
  retry {
    attempts = 2
    delay    = "1s"
  }
}

# Build, test and deploy with Docker and Kubernetes:
#
# docker_build "app" {
#   image   = local.app
#   tag     = var.build_number
#   context = "."
# }
#
# docker_run "unit_tests" {
#   image   = docker_build.app.ref
#   command = ["/app", "test"]
# }
#
# k8s_deploy "app" {
#   name     = local.app
#   image    = docker_build.app.ref
#   replicas = 2
#   when     = git.branch == "main"
# }

output "greeting" {
  value = trimspace(exec.hello.stdout)
}
`
