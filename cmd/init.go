package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

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
