package modules

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// CallNames finds, in the given parsed files, the module calls of each
// source: source -> ["module.api", ...], sorted. Only sources written as
// plain strings are found.
func CallNames(files map[string]*hcl.File) map[string][]string {
	names := map[string][]string{}
	for _, f := range files {
		body, ok := f.Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		for _, b := range body.Blocks {
			a := b.Body.Attributes["source"]
			if b.Type != "module" || len(b.Labels) != 1 || a == nil {
				continue
			}
			if v, diags := a.Expr.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
				names[v.AsString()] = append(names[v.AsString()], "module."+b.Labels[0])
			}
		}
	}
	for s := range names {
		sort.Strings(names[s])
	}
	return names
}

// WriteReport prints what init did with each source, like terraform init:
//
//   - module.api: git::https://...?ref=v1.2.0 (commit 1a2b3c4)
//
// names are the module calls of each source (see CallNames); the lines
// are sorted by what they show.
func WriteReport(w io.Writer, results []*Result, names map[string][]string) {
	if len(results) == 0 {
		return
	}
	fmt.Fprintln(w, "Installing modules...")
	labels := make(map[*Result]string, len(results))
	for _, r := range results {
		labels[r] = r.Source
		if n := names[r.Source]; len(n) > 0 {
			labels[r] = strings.Join(n, ", ") + ": " + r.Source
		}
	}
	results = append([]*Result(nil), results...)
	sort.SliceStable(results, func(i, j int) bool { return labels[results[i]] < labels[results[j]] })
	for _, r := range results {
		label := labels[r]
		detail := "commit " + short(r.Commit)
		switch {
		case r.Previous != "":
			detail = fmt.Sprintf("commit %s -> %s", short(r.Previous), short(r.Commit))
		case r.Action == UpToDate:
			detail += ", already installed"
		}
		fmt.Fprintf(w, "- %s (%s)\n", label, detail)
		if r.Moved != "" {
			fmt.Fprintf(w, "  Warning: the ref now names commit %s, but %s pins %s; the pin is kept. Run ansflow init -upgrade to move it.\n", short(r.Moved), LockFile, short(r.Commit))
		}
		if r.Warning != "" {
			fmt.Fprintf(w, "  Warning: %s; the pinned commit %s is kept.\n", r.Warning, short(r.Commit))
		}
	}
}
