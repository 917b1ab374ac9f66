package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ansflow/ansflow/convert"
	"github.com/spf13/cobra"
)

// convertOptions are the flags of ansflow convert.
type convertOptions struct {
	out string
}

func newConvertCommand(app *App, g *globalOptions) *cobra.Command {
	var o convertOptions
	c := &cobra.Command{
		Use:   "convert PIPELINE.yaml|PIPELINE.json [-out=FILE]",
		Short: "Convert an AnsFlow pipeline (YAML or JSON) into ansflow HCL",
		Long: `Reads an AnsFlow pipeline, YAML or JSON, in any of its shapes: a pipeline
object as AnsFlow's API sends it (name, steps with step_type, parameters,
order, parallel_group, dependencies, retry_policy, conditions, ...), a
{pipeline: ...} wrapper, or a bare list of steps. Writes the equivalent
ansflow HCL to standard output, or to FILE with -out.

Implicit context becomes explicit references: a docker_run or docker_push
without an image uses the previous docker_build's ref, {{docker_image}} the
latest pushed image, a k8s_wait or k8s_scale without a name the previous
k8s_deploy's name. order and parallel groups become depends_on where no
reference already orders the steps. Shell-like step types (build, test,
script, ...) become exec steps run through sh -c; Helm deploys become
helm_release steps. {{name}} placeholders become variables (git_commit and
git_branch become git.commit and git.branch). Passwords, tokens and registry
credentials become sensitive variables, never literals.

Anything without an ansflow equivalent is reported as a warning on standard
error, with its file and line. Exit code 0 (also with warnings); 1 when the
file cannot be read or is not valid YAML or JSON. Use "-" to read standard
input. See docs/migrating-from-ansflow.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return runConvert(app, g, args[0], o)
		},
	}
	c.Flags().StringVar(&o.out, "out", "", "write the HCL to `FILE` instead of standard output")
	return c
}

// runConvert converts the file at path (relative to -chdir) and writes the
// result.
func runConvert(app *App, g *globalOptions, path string, o convertOptions) error {
	src, name, err := readConvertInput(app, g, path)
	if err != nil {
		return err
	}
	out, warnings, err := convert.Convert(src, name)
	for _, w := range warnings {
		fmt.Fprintf(app.Stderr, "Warning: %s\n", w)
	}
	if err != nil {
		return err
	}
	if o.out == "" {
		_, err := app.Stdout.Write(out)
		return err
	}
	dest := convertPath(g, o.out)
	if err := os.WriteFile(dest, out, 0o644); err != nil {
		return fmt.Errorf("cannot write the converted pipeline: %w", err)
	}
	fmt.Fprintf(app.Stdout, "Wrote %s (%d warnings). Check it with: ansflow validate\n", o.out, len(warnings))
	return nil
}

// readConvertInput reads path, or standard input for "-". The name is what
// messages call the file.
func readConvertInput(app *App, g *globalOptions, path string) ([]byte, string, error) {
	if path == "-" {
		src, err := io.ReadAll(app.Stdin)
		if err != nil {
			return nil, "", fmt.Errorf("cannot read standard input: %w", err)
		}
		return src, "<stdin>", nil
	}
	src, err := os.ReadFile(convertPath(g, path))
	if err != nil {
		return nil, "", fmt.Errorf("cannot read the pipeline to convert, %s: %v", path, errors.Unwrap(err))
	}
	return src, path, nil
}

// convertPath resolves a path given on the command line against -chdir.
func convertPath(g *globalOptions, p string) string {
	if filepath.IsAbs(p) || g.chdir == "" {
		return p
	}
	return filepath.Join(g.chdir, p)
}
