package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/graph"
	"github.com/ansflow/ansflow/telemetry"
	"github.com/ansflow/ansflow/views"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"
)

func newVersionCommand(app *App) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version [flags]",
		Short: "Print the ansflow version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if asJSON {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(currentVersion())
			}
			fmt.Fprintf(app.Stdout, "ansflow %s (%s, %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the version as JSON")
	return c
}

func newValidateCommand(app *App, g *globalOptions) *cobra.Command {
	var asJSON bool
	var vf varFlags
	var checkVars bool
	c := &cobra.Command{
		Use:   "validate [flags]",
		Short: "Check the pipeline files for errors, without touching anything",
		Long: `Parses every *.hcl file of the pipeline directory and checks block and
attribute names, types, references and the dependency graph, then evaluates
every step with what it cannot know yet (variables without -vars, env(), git.*,
run.*, step results) unknown: the types of when and for_each, each.value
attributes, function arguments, empty commands and sources patterns. With -vars it also
resolves the variable values (-var, -var-file, *.auto.vars.hcl, ANSFLOW_VAR_*)
and runs their validation blocks. Exit code 0 when valid, 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, diags := config.Load(g.dir())
			if !diags.HasErrors() {
				_, gdiags := graph.Build(p)
				diags = append(diags, gdiags...)
				diags = append(diags, telemetry.Validate(p)...)
			}
			var vals map[string]cty.Value
			if !diags.HasErrors() && (checkVars || len(vf.args) > 0) {
				var vdiags hcl.Diagnostics
				vals, vdiags = p.ResolveVariables(config.VarInputs{Args: vf.args, Environ: app.Environ})
				diags = append(diags, vdiags...)
			}
			if !diags.HasErrors() {
				diags = append(diags, config.Check(p, vals)...)
			}
			if asJSON {
				views.NewJSON(app.Stdout).Validate(diags)
				if diags.HasErrors() {
					return exitCode(1)
				}
				return nil
			}
			if err := diagsError(app, g, p, diags); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "Success! The pipeline is valid: %d steps in %d files.\n", len(p.StepOrder), len(p.Files))
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the result and diagnostics as JSON")
	c.Flags().BoolVar(&checkVars, "vars", false, "also resolve variable values and run their validation blocks")
	vf.register(c.Flags())
	return c
}

func newGraphCommand(app *App, g *globalOptions) *cobra.Command {
	format := "dot"
	c := &cobra.Command{
		Use:   "graph",
		Short: "Print the step dependency graph (Graphviz DOT, Mermaid or SVG)",
		Long: `Prints the steps and the dependencies implied by their references and
depends_on, as DOT (render with: ansflow graph | dot -Tsvg > graph.svg).
An edge points from a step to a step it depends on.
` + graphFormatHelp,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			p, diags := config.Load(g.dir())
			if diags.HasErrors() {
				return diagsError(app, g, p, diags)
			}
			sg, gdiags := graph.Build(p)
			if err := diagsError(app, g, p, gdiags); err != nil {
				return err
			}
			return writeGraph(app.Stdout, sg.Graph, format)
		},
	}
	c.Flags().StringVar(&format, "format", "dot", "output `FORMAT`: dot, mermaid or svg")
	return c
}

func newInitCommand(app *App, g *globalOptions) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "init",
		Short: "Write a starter pipeline into the directory",
		Long: `Writes main.hcl (a small pipeline of exec steps you can apply at once, with
Docker and Kubernetes steps sketched in comments) and a .gitignore for the
.ansflow working directory. Existing files are left alone unless -force.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			dir := g.dir()
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("cannot create the pipeline directory %s: %v", dir, errors.Unwrap(err))
			}
			files := map[string]string{"main.hcl": starterPipeline, ".gitignore": ".ansflow/\n"}
			names := []string{"main.hcl", ".gitignore"}
			for _, name := range names {
				path := filepath.Join(dir, name)
				if _, err := os.Stat(path); err == nil && !force {
					fmt.Fprintf(app.Stdout, "%s exists; left as it is (use -force to overwrite).\n", path)
					continue
				}
				if err := os.WriteFile(path, []byte(files[name]), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "Wrote %s\n", path)
			}
			fmt.Fprintf(app.Stdout, "\nansflow is ready. Next:\n  ansflow%s plan\n  ansflow%s apply\n", chdirHint(g), chdirHint(g))
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	return c
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

func newFmtCommand(app *App, g *globalOptions) *cobra.Command {
	var check, diff, recursive bool
	c := &cobra.Command{
		Use:   "fmt [flags] [PATH...]",
		Short: "Rewrite pipeline files in the canonical format",
		Long: `Formats *.hcl files (pipelines and *.vars.hcl) in the canonical HCL style.
With -check, nothing is written and the exit code is 3 when a file needs
formatting; with -diff the changes are shown as a unified diff.`,
		RunE: func(_ *cobra.Command, args []string) error {
			paths := args
			if len(paths) == 0 {
				paths = []string{g.dir()}
			}
			files, err := hclFiles(paths, recursive)
			if err != nil {
				return err
			}
			var diags hcl.Diagnostics
			changed := false
			for _, f := range files {
				src, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				_, d := hclwrite.ParseConfig(src, f, hcl.InitialPos)
				if d.HasErrors() {
					diags = append(diags, d...)
					continue
				}
				out := hclwrite.Format(src)
				if bytes.Equal(src, out) {
					continue
				}
				changed = true
				fmt.Fprintln(app.Stdout, f)
				if diff {
					ud := difflib.UnifiedDiff{A: difflib.SplitLines(string(src)), B: difflib.SplitLines(string(out)),
						FromFile: "old/" + f, ToFile: "new/" + f, Context: 3}
					text, _ := difflib.GetUnifiedDiffString(ud)
					fmt.Fprint(app.Stdout, text)
				}
				if !check {
					info, err := os.Stat(f)
					if err != nil {
						return err
					}
					if err := os.WriteFile(f, out, info.Mode().Perm()); err != nil {
						return err
					}
				}
			}
			if len(diags) > 0 {
				printDiags(app, g, nil, diags)
				return exitCode(1)
			}
			if check && changed {
				return exitCode(3)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&check, "check", false, "only check; exit 3 if any file needs formatting")
	c.Flags().BoolVar(&diff, "diff", false, "show the formatting changes as a diff")
	c.Flags().BoolVar(&recursive, "recursive", false, "also format files in subdirectories")
	return c
}

// hclFiles lists the *.hcl files under paths (files are taken as given).
func hclFiles(paths []string, recursive bool) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, errors.Unwrap(err))
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && (!recursive || strings.HasPrefix(d.Name(), ".")) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), ".hcl") && !strings.HasPrefix(d.Name(), ".") {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}
