package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// MaxDiagnosticsPerFile is how many diagnostics are reported for one file;
// the rest are counted in one more ("and M more"). A file of stray
// characters would otherwise get one diagnostic per character, each
// echoing its line.
const MaxDiagnosticsPerFile = 20

// limitDiagnostics keeps the first MaxDiagnosticsPerFile diagnostics of
// each file (by subject) and says how many more there were.
func limitDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	count := map[string]int{}
	for _, d := range diags {
		count[diagFile(d)]++
	}
	over := false
	for _, n := range count {
		over = over || n > MaxDiagnosticsPerFile
	}
	if !over {
		return diags
	}
	kept := make(hcl.Diagnostics, 0, len(diags))
	seen := map[string]int{}
	dropped := map[string]bool{}     // file -> an error was dropped
	first := map[string]*hcl.Range{} // file -> subject of the first dropped
	var order []string
	for _, d := range diags {
		f := diagFile(d)
		seen[f]++
		if seen[f] <= MaxDiagnosticsPerFile {
			kept = append(kept, d)
			continue
		}
		if seen[f] == MaxDiagnosticsPerFile+1 {
			order = append(order, f)
			first[f] = d.Subject
		}
		dropped[f] = dropped[f] || d.Severity == hcl.DiagError
	}
	for _, f := range order {
		sev := hcl.DiagWarning
		if dropped[f] {
			sev = hcl.DiagError
		}
		name := f
		if name == "" {
			name = "the pipeline"
		}
		kept = append(kept, &hcl.Diagnostic{
			Severity: sev,
			Summary:  fmt.Sprintf("And %d more problems in %s", count[f]-MaxDiagnosticsPerFile, name),
			Detail:   fmt.Sprintf("Only the first %d problems of a file are shown; the next one is here. Fix them and run again to see the rest.", MaxDiagnosticsPerFile),
			Subject:  first[f],
		})
	}
	return kept
}

func diagFile(d *hcl.Diagnostic) string {
	if d.Subject != nil {
		return d.Subject.Filename
	}
	return ""
}
