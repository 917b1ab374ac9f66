package views

import (
	"fmt"
	"html"
	"io"
	"sort"
	"strings"

	"github.com/ansflow/ansflow/engine"
)

// RenderMarkdown writes p as a compact Markdown summary for a pull request:
// the summary line, a table of the steps that do something with their
// reasons, each step's attribute diff in a collapsible section, and the
// steps that do nothing in one more collapsed list.
func RenderMarkdown(w io.Writer, p *engine.Plan) {
	var b strings.Builder
	var changes, quiet []*engine.Change
	for _, c := range p.Changes {
		if c.Action.Changes() {
			changes = append(changes, c)
		} else {
			quiet = append(quiet, c)
		}
	}
	fmt.Fprintf(&b, "### ansflow plan: %s\n\n", strings.TrimPrefix(SummaryLine(p), "Plan: "))
	fmt.Fprintf(&b, "Workspace `%s`, run %d", p.Workspace, p.RunNumber)
	if p.Destroy {
		b.WriteString(", **destroy**")
	}
	b.WriteString(".\n\n")
	for _, m := range p.Moves {
		fmt.Fprintf(&b, "- %s has moved to %s\n", codeSpan(m.From), codeSpan(m.To))
	}
	if len(p.Moves) > 0 {
		b.WriteString("\n")
	}
	switch {
	case len(changes) == 0 && len(p.Moves) > 0:
		b.WriteString("No changes, but " + MovedLine(p) + "\n")
	case len(changes) == 0:
		b.WriteString("No changes: nothing to create, update, destroy or run.\n")
	default:
		b.WriteString("| | Step | Action | Reason |\n|:-:|---|---|---|\n")
		for _, c := range changes {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", Symbol(c.Action), codeSpan(c.Addr), actionWord(c), tableCell(strings.Join(Reasons(c), "; ")))
		}
		for _, c := range changes {
			if len(c.Attrs) > 0 {
				b.WriteString("\n")
				writeMarkdownDiff(&b, c)
			}
		}
	}
	if len(quiet) > 0 {
		fmt.Fprintf(&b, "\n<details><summary>Not changed (%d)</summary>\n\n", len(quiet))
		for _, c := range quiet {
			line := "- " + codeSpan(c.Addr) + " " + headline(c)
			if reasons := Reasons(c); len(reasons) > 0 {
				line += ": " + strings.Join(reasons, "; ")
			}
			b.WriteString(line + "\n")
		}
		b.WriteString("\n</details>\n")
	}
	if len(p.Outputs) > 0 {
		b.WriteString("\n**Changes to Outputs**\n\n| | Output | Before | After |\n|:-:|---|---|---|\n")
		for _, o := range p.Outputs {
			before, after := "", ""
			if o.Before != nil {
				before = codeSpan(*o.Before)
			}
			if o.After != nil {
				after = codeSpan(*o.After)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", Symbol(o.Action), codeSpan(o.Name), tableCell(before), tableCell(after))
		}
	}
	if len(p.Targets) > 0 {
		fmt.Fprintf(&b, "\n> **Warning:** `-target` is in effect (%s): the rest of the pipeline is not planned.\n", tableCell(strings.Join(p.Targets, ", ")))
	}
	io.WriteString(w, b.String())
}

// actionWord names an action in the table.
func actionWord(c *engine.Change) string {
	switch c.Action {
	case engine.Update:
		return "update in place"
	case engine.Delete:
		if !c.Declarative {
			return "forget"
		}
		return "destroy"
	}
	return c.Action.String()
}

// writeMarkdownDiff writes one collapsible section with the attribute
// changes of c as a diff block, so GitHub and GitLab colour it: an update
// is a "-" line with the old value and a "+" line with the new one.
func writeMarkdownDiff(b *strings.Builder, c *engine.Change) {
	attrs := append([]engine.AttrChange(nil), c.Attrs...)
	sort.SliceStable(attrs, func(i, j int) bool { return attrs[i].Path < attrs[j].Path })
	width := 0
	for _, a := range attrs {
		width = max(width, len(a.Path))
	}
	var lines []string
	for _, a := range attrs {
		name := a.Path + strings.Repeat(" ", width-len(a.Path))
		before, after := attrValues(a)
		note := ""
		if a.ForceNew && c.Action == engine.Replace {
			note = " # forces replacement"
		}
		if a.Drift {
			note += " # changed outside ansflow"
		}
		switch {
		case a.Removed:
			lines = append(lines, fmt.Sprintf("- %s (%s)%s", a.Path, before, note))
		case a.Before == nil:
			lines = append(lines, fmt.Sprintf("+ %s = %s%s", name, after, note))
		case a.After == nil && !a.Unknown:
			lines = append(lines, fmt.Sprintf("- %s = %s%s", name, before, note))
		case before == after:
			lines = append(lines, fmt.Sprintf("! %s = %s%s", name, after, note))
		default:
			lines = append(lines, fmt.Sprintf("- %s = %s", name, before), fmt.Sprintf("+ %s = %s%s", name, after, note))
		}
	}
	body := strings.Join(lines, "\n")
	fence := codeFence(body)
	fmt.Fprintf(b, "<details><summary><code>%s</code> %s</summary>\n\n%sdiff\n%s\n%s\n\n</details>\n",
		html.EscapeString(c.Addr), headline(c), fence, body, fence)
}

// codeFence is a fence longer than any run of backticks in body.
func codeFence(body string) string {
	longest, run := 0, 0
	for _, r := range body {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// codeSpan renders s as inline code, whatever backticks it holds, safe
// inside a table cell.
func codeSpan(s string) string {
	ticks := strings.Repeat("`", strings.Count(s, "`")+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return ticks + pad + strings.ReplaceAll(s, "|", `\|`) + pad + ticks
}

// cellEscaper escapes text for one cell of a Markdown table: no HTML, no
// column breaks, no line breaks.
var cellEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", `\|`, "\n", "<br>")

func tableCell(s string) string { return cellEscaper.Replace(s) }
