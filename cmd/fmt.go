package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"
)

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
