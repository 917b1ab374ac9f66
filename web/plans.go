package web

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/views"
)

// planFile is a saved plan the dashboard can show.
type planFile struct {
	Name string // relative to the pipeline directory
	Path string
}

// planFiles lists the saved plans the dashboard offers: the one named on
// the command line, and files in the pipeline directory and in .ansflow
// that read as plans. Only these can be opened: a request names one by its
// listed name, never by a path of its own.
func (s *Server) planFiles() []planFile {
	var out []planFile
	seen := map[string]bool{}
	add := func(path string) {
		abs, err := filepath.Abs(path)
		if err != nil || seen[abs] {
			return
		}
		data, err := os.ReadFile(abs)
		if err != nil || len(data) > 64<<20 || !looksLikePlan(data) {
			return
		}
		seen[abs] = true
		name, err := filepath.Rel(s.Dir, abs)
		if err != nil || strings.HasPrefix(name, "..") {
			name = abs
		}
		out = append(out, planFile{Name: name, Path: abs})
	}
	if s.PlanFile != "" {
		add(s.PlanFile)
	}
	for _, dir := range []string{s.Dir, filepath.Join(s.Dir, ".ansflow")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".hcl") {
				add(filepath.Join(dir, e.Name()))
			}
		}
	}
	first := 0
	if s.PlanFile != "" && len(out) > 0 {
		first = 1 // the one named on the command line stays first
	}
	rest := out[first:]
	sort.Slice(rest, func(i, j int) bool { return rest[i].Name < rest[j].Name })
	return out
}

func looksLikePlan(data []byte) bool {
	head := string(data[:min(len(data), 512)])
	return strings.HasPrefix(strings.TrimSpace(head), "{") && strings.Contains(head, `"format_version"`) && strings.Contains(head, `"lineage"`) &&
		strings.Contains(string(data), `"changes"`) && !strings.Contains(head, `"instances"`)
}

type planAttr struct {
	Path, Before, After string
	Kind                string // add | remove | change
	Note                string
}

type planChange struct {
	*engine.Change
	Symbol  string
	Attrs   []planAttr
	Changes bool
}

type plansBody struct {
	Files   []planFile
	Current string
	Plan    *engine.Plan
	Summary string
	Error   string
	Changes []planChange
}

func (s *Server) plansPage(w http.ResponseWriter, r *http.Request) {
	b := plansBody{Files: s.planFiles(), Current: r.URL.Query().Get("file")}
	if b.Current == "" && len(b.Files) > 0 {
		b.Current = b.Files[0].Name
	}
	i := slices.IndexFunc(b.Files, func(f planFile) bool { return f.Name == b.Current })
	if b.Current != "" && i < 0 {
		http.Error(w, "no such saved plan here; the plans page lists them", http.StatusNotFound)
		return
	}
	if i >= 0 {
		data, err := os.ReadFile(b.Files[i].Path)
		if err == nil {
			b.Plan, err = engine.DecodePlan(b.Files[i].Name, data)
		}
		if err != nil {
			b.Error = err.Error()
		} else {
			b.Summary = views.SummaryLine(b.Plan)
			b.Changes = planChanges(b.Plan)
		}
	}
	s.render(w, "plans.html", page{Title: "Saved plans", Nav: "plans", Body: b})
}

// planChanges puts the steps that do something first, each with its
// attribute diff; hidden values are shown as (sensitive value).
func planChanges(p *engine.Plan) []planChange {
	var out []planChange
	for _, c := range p.Changes {
		pc := planChange{Change: c, Symbol: views.Symbol(c.Action), Changes: c.Action.Changes()}
		for _, a := range c.Attrs {
			pc.Attrs = append(pc.Attrs, diffAttr(a))
		}
		out = append(out, pc)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Changes && !out[j].Changes })
	return out
}

func diffAttr(a engine.AttrChange) planAttr {
	show := func(v *string) string {
		switch {
		case a.Sensitive:
			return sensitive
		case v == nil:
			return ""
		}
		return *v
	}
	pa := planAttr{Path: a.Path, Before: show(a.Before), After: show(a.After), Kind: "change"}
	if a.Unknown {
		pa.After = "(known after apply)"
	}
	switch {
	case a.Before == nil:
		pa.Kind = "add"
	case a.After == nil && !a.Unknown:
		pa.Kind = "remove"
	}
	if a.ForceNew {
		pa.Note = "forces replacement"
	}
	if a.Drift {
		pa.Note = strings.TrimPrefix(pa.Note+"; changed outside ansflow", "; ")
	}
	return pa
}
