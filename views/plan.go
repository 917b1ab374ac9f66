// Package views renders what ansflow has to say to people and programs:
// plans, apply progress and summaries, as human text or JSON lines.
// Commands decide what to do; views only render.
package views

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
)

// Style is how the human views render: colour on or off, and the words of
// each step type.
type Style struct {
	Color bool
	// Schemas word progress lines by step type ("Building...", "Built");
	// without them every step has the generic create, update and run words.
	Schemas config.Schemas
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

func (s Style) paint(code, text string) string {
	if !s.Color || text == "" {
		return text
	}
	return code + text + ansiReset
}

// Bold renders text in bold.
func (s Style) Bold(text string) string { return s.paint(ansiBold, text) }

// Symbol is the one-column marker of an action.
func Symbol(a engine.Action) string {
	switch a {
	case engine.Create:
		return "+"
	case engine.Update:
		return "~"
	case engine.Replace:
		return "-/+"
	case engine.Delete:
		return "-"
	case engine.Run:
		return ">"
	}
	return " "
}

func (s Style) symbol(a engine.Action) string {
	sym := Symbol(a)
	switch a {
	case engine.Create:
		return s.paint(ansiGreen, sym)
	case engine.Update:
		return s.paint(ansiYellow, sym)
	case engine.Replace, engine.Delete:
		return s.paint(ansiRed, sym)
	case engine.Run:
		return s.paint(ansiCyan, sym)
	}
	return sym
}

// headline is the "will ..." phrase of an action.
func headline(c *engine.Change) string {
	switch c.Action {
	case engine.Create:
		return "will be created"
	case engine.Update:
		return "will be updated in place"
	case engine.Replace:
		return "will be replaced"
	case engine.Delete:
		if !c.Declarative {
			return "will be forgotten"
		}
		return "will be destroyed"
	case engine.Run:
		return "will run"
	case engine.Skip:
		return "is skipped"
	}
	return "is up to date"
}

// PlanOptions tune plan rendering.
type PlanOptions struct {
	Style
	Verbose bool // list up-to-date and skipped steps too
}

// RenderPlan writes p in the Terraform shape: a block per step that does
// something, with its reason and attribute diff, then a summary line.
func RenderPlan(w io.Writer, p *engine.Plan, o PlanOptions) {
	var b strings.Builder
	var changes, quiet []*engine.Change
	for _, c := range p.Changes {
		if c.Action.Changes() {
			changes = append(changes, c)
		} else {
			quiet = append(quiet, c)
		}
	}
	writeMoves(&b, p.Moves, o.Style)
	switch {
	case len(changes) == 0 && len(p.Moves) > 0:
		b.WriteString(o.Bold("No changes,") + " but " + MovedLine(p) + "\n")
	case len(changes) == 0:
		b.WriteString(o.Bold("No changes.") + " The pipeline is up to date: nothing to create, update, destroy or run.\n")
	default:
		writeLegend(&b, changes, o.Style)
		b.WriteString("\nansflow will perform the following actions:\n")
		for _, c := range changes {
			b.WriteString("\n")
			writeChange(&b, c, o.Style)
		}
	}
	if o.Verbose && len(quiet) > 0 {
		b.WriteString("\nNot changed:\n")
		for _, c := range quiet {
			line := fmt.Sprintf("  %s %s", c.Addr, headline(c))
			if reasons := Reasons(c); len(reasons) > 0 {
				line += " (" + strings.Join(reasons, "; ") + ")"
			}
			b.WriteString(o.paint(ansiDim, line) + "\n")
		}
	}
	b.WriteString("\n" + o.Bold(SummaryLine(p)) + "\n")
	writeOutputChanges(&b, p.Outputs, o.Style)
	if len(p.Targets) > 0 {
		fmt.Fprintf(&b, "\n%s -target is in effect: only %s and what it depends on are planned, so the\n"+
			"rest of the pipeline may not match its configuration. Use -target to recover from a mistake or to\n"+
			"work around a limitation, not routinely; a plain apply brings everything up to date.\n",
			o.paint(ansiYellow+ansiBold, "Warning:"), strings.Join(p.Targets, ", "))
	}
	io.WriteString(w, b.String())
}

// MovedLine is "2 step(s) moved; apply records the new addresses."
func MovedLine(p *engine.Plan) string {
	return fmt.Sprintf("%d step(s) moved; apply records the new addresses.", len(p.Moves))
}

// MoveLine is "A has moved to B".
func MoveLine(m engine.Move) string { return m.From + " has moved to " + m.To }

// writeMoves lists the records moved blocks rename, Terraform's way, with
// a blank line after them.
func writeMoves(b *strings.Builder, moves []engine.Move, s Style) {
	for _, m := range moves {
		b.WriteString("  " + s.Bold("# "+MoveLine(m)) + "\n")
	}
	if len(moves) > 0 {
		b.WriteString("\n")
	}
}

// writeOutputChanges lists how the pipeline's outputs would change.
func writeOutputChanges(b *strings.Builder, changes []engine.OutputChange, s Style) {
	if len(changes) == 0 {
		return
	}
	b.WriteString("\nChanges to Outputs:\n")
	width := 0
	for _, c := range changes {
		width = max(width, len(c.Name))
	}
	for _, c := range changes {
		line := fmt.Sprintf("%-*s = ", width, c.Name)
		switch c.Action {
		case engine.Create:
			line += *c.After
		case engine.Delete:
			line += *c.Before + " -> null"
		default:
			line += *c.Before + " -> " + *c.After
		}
		fmt.Fprintf(b, "  %s %s\n", s.symbol(c.Action), line)
	}
}

// legendOrder lists the actions in the order the legend explains them.
var legendOrder = []struct {
	action engine.Action
	text   string
}{
	{engine.Create, "create"},
	{engine.Update, "update in place"},
	{engine.Replace, "destroy and then create replacement"},
	{engine.Delete, "destroy (or forget a run-to-completion step)"},
	{engine.Run, "run to completion"},
}

// writeLegend explains the symbols the plan uses, and only those.
func writeLegend(b *strings.Builder, changes []*engine.Change, s Style) {
	used := map[engine.Action]bool{}
	for _, c := range changes {
		used[c.Action] = true
	}
	b.WriteString("Step actions are indicated with the following symbols:\n")
	for _, l := range legendOrder {
		if used[l.action] {
			fmt.Fprintf(b, "%s%s %s\n", strings.Repeat(" ", 3-len(Symbol(l.action))), s.symbol(l.action), l.text)
		}
	}
}

// SummaryLine is "Plan: 2 to create, 1 to update, 0 to destroy, 3 to run, 4 up to date, 1 skipped."
func SummaryLine(p *engine.Plan) string {
	s := p.Summary()
	untargeted := NotTargeted(p)
	line := fmt.Sprintf("Plan: %d to create, %d to update, %d to destroy, %d to run, %d up to date, %d skipped",
		s.Create+s.Replace, s.Update, s.Delete+s.Replace, s.Run, s.NoOp, s.Skip-untargeted)
	if len(p.Targets) > 0 {
		line += fmt.Sprintf(", %d not targeted", untargeted)
	}
	return line + "."
}

// NotTargeted counts the steps a plan leaves out because -target did not
// select them (they are Skip changes, like when = false, but not skipped by
// the pipeline itself).
func NotTargeted(p *engine.Plan) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == engine.Skip && notTargeted(c) {
			n++
		}
	}
	return n
}

// notTargeted reports whether -target left c out.
func notTargeted(c *engine.Change) bool {
	if len(c.Why) == 0 {
		return slices.Contains(c.Reasons, ReasonText(engine.Reason{Code: engine.ReasonNotTargeted}))
	}
	return slices.ContainsFunc(c.Why, func(r engine.Reason) bool { return r.Code == engine.ReasonNotTargeted })
}

// ChangeLine is "ADDR will ... because REASON; REASON".
func ChangeLine(c *engine.Change) string {
	line := c.Addr + " " + headline(c)
	if reasons := Reasons(c); len(reasons) > 0 {
		line += " because " + strings.Join(reasons, "; ")
	}
	return line
}

func writeChange(b *strings.Builder, c *engine.Change, s Style) {
	b.WriteString("  " + s.Bold("# "+ChangeLine(c)) + "\n")
	if c.MovedFrom != "" {
		b.WriteString("  " + s.Bold("# (moved from "+c.MovedFrom+")") + "\n")
	}
	// Symbols are right-aligned in three columns, so "-/+" and "  +"
	// start their addresses at the same place, as in Terraform.
	head := strings.Repeat(" ", 3-len(Symbol(c.Action))) + s.symbol(c.Action) + " " + c.Addr
	if len(c.Attrs) == 0 {
		b.WriteString(head + "\n")
		return
	}
	b.WriteString(head + " {\n")
	attrs := append([]engine.AttrChange(nil), c.Attrs...)
	sort.SliceStable(attrs, func(i, j int) bool { return attrs[i].Path < attrs[j].Path })
	width := 0
	for _, a := range attrs {
		width = max(width, len(a.Path))
	}
	for _, a := range attrs {
		b.WriteString("      " + attrLine(a, c.Action, width, s) + "\n")
	}
	b.WriteString("    }\n")
}

const (
	knownAfterApply = "(known after apply)"
	sensitiveValue  = "(sensitive value)"
)

// attrValues returns the before and after text of an attribute as shown to
// people: sensitive values hidden, unknown values named as such.
func attrValues(a engine.AttrChange) (before, after string) {
	if a.Before != nil {
		before = *a.Before
		if a.Sensitive {
			before = sensitiveValue
		}
	}
	if a.After != nil {
		after = *a.After
		if a.Sensitive {
			after = sensitiveValue
		}
	}
	if a.Unknown {
		after = knownAfterApply
	}
	return before, after
}

// attrLine renders one attribute: "+ name = after", "- name = before -> null",
// "~ name = before -> after", padded so the "=" signs line up.
func attrLine(a engine.AttrChange, action engine.Action, width int, s Style) string {
	name := a.Path + strings.Repeat(" ", max(0, width-len(a.Path)))
	before, after := attrValues(a)
	hasAfter := a.After != nil || a.Unknown
	note := ""
	if a.ForceNew && action == engine.Replace {
		note = s.paint(ansiRed, " # forces replacement")
	}
	if a.Drift {
		note += s.paint(ansiDim, " # changed outside ansflow")
	}
	switch {
	case a.Removed:
		return fmt.Sprintf("%s %s (%s)%s", s.paint(ansiRed, "-"), strings.TrimRight(name, " "), before, note)
	case a.Before == nil:
		return fmt.Sprintf("%s %s = %s%s", s.paint(ansiGreen, "+"), name, after, note)
	case !hasAfter:
		return fmt.Sprintf("%s %s = %s -> null%s", s.paint(ansiRed, "-"), name, before, note)
	case before == after:
		// Drift back to the same value, or a sensitive value whose hash changed.
		return fmt.Sprintf("%s %s = %s%s", s.paint(ansiYellow, "~"), name, after, note)
	}
	return fmt.Sprintf("%s %s = %s -> %s%s", s.paint(ansiYellow, "~"), name, before, after, note)
}
