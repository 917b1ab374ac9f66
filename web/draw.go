package web

import (
	"fmt"
	"html"
	"html/template"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ansflow/ansflow/graph"
	"github.com/ansflow/ansflow/runlog"
)

// stepHref is the address of a step's page in a run.
func stepHref(run int, addr string) string {
	return fmt.Sprintf("/runs/%d/step?addr=%s", run, url.QueryEscape(addr))
}

// runGraph draws the run's steps laid out by dependency, each node with
// the class of its status.
func runGraph(run *runlog.Run) template.HTML {
	g := graph.New(len(run.Steps))
	index := make(map[string]int, len(run.Steps))
	for _, s := range run.Steps {
		index[s.Addr] = g.AddNode(s.Addr)
	}
	for _, s := range run.Steps {
		for _, d := range s.DependsOn {
			if to, ok := index[d]; ok {
				g.AddEdge(index[s.Addr], to)
			}
		}
	}
	var b strings.Builder
	err := g.WriteSVG(&b, graph.SVGOptions{
		Class: func(n int) string { return "st-" + string(run.View(run.Steps[n])) },
		Href:  func(n int) string { return stepHref(run.Number, run.Steps[n].Addr) },
	})
	if err != nil {
		return template.HTML(`<p class="note">The graph cannot be drawn: ` + html.EscapeString(err.Error()) + `</p>`)
	}
	return template.HTML(b.String()) // built from escaped parts by graph.WriteSVG
}

// Timeline geometry, in pixels.
const (
	tlLabel  = 260
	tlWidth  = 900
	tlRow    = 20
	tlTop    = 24
	tlMaxRow = 2000 // rows drawn; the table below lists every step
)

// timeline draws a Gantt chart of the steps that started: one row per
// step in start order, a bar per attempt (a failed attempt before a retry
// is hatched), the critical path outlined, and a running step's bar up to
// now.
func timeline(run *runlog.Run, now time.Time) template.HTML {
	var rows []*runlog.Step
	for _, s := range run.Steps {
		if !s.Started.IsZero() {
			rows = append(rows, s)
		}
	}
	if len(rows) == 0 {
		return template.HTML(`<p class="note">No step has started in this run.</p>`)
	}
	sortByStart(rows)
	start, end := rows[0].Started, run.Finished
	for _, s := range rows {
		end = later(end, s.Finished)
		if s.Finished.IsZero() {
			end = later(end, now)
		}
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Millisecond
	}
	x := func(t time.Time) float64 { return tlLabel + float64(t.Sub(start))/float64(span)*tlWidth }
	crit := map[string]bool{}
	for _, a := range run.CriticalPath() {
		crit[a] = true
	}
	truncated := len(rows) > tlMaxRow
	if truncated {
		rows = rows[:tlMaxRow]
	}
	height := tlTop + len(rows)*tlRow + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="%d" height="%d" viewBox="0 0 %d %d">`, tlLabel+tlWidth+20, height, tlLabel+tlWidth+20, height)
	writeAxis(&b, span, height)
	for i, s := range rows {
		writeRow(&b, run, s, tlTop+i*tlRow, x, now, crit[s.Addr])
	}
	b.WriteString(`</svg>`)
	if truncated {
		fmt.Fprintf(&b, `<p class="note">The first %d steps to start are drawn; the table lists all.</p>`, tlMaxRow)
	}
	return template.HTML(b.String())
}

func writeAxis(b *strings.Builder, span time.Duration, height int) {
	for i := 0; i <= 4; i++ {
		px := tlLabel + float64(i)*tlWidth/4
		label, anchor := "0", "start"
		if i > 0 {
			label = formatDuration(span * time.Duration(i) / 4)
		}
		if i == 4 {
			anchor = "end"
		}
		fmt.Fprintf(b, `<line class="tick" x1="%.1f" y1="16" x2="%.1f" y2="%d"/><text class="ticklabel" x="%.1f" y="12" text-anchor="%s">%s</text>`,
			px, px, height, px+2, anchor, html.EscapeString(label))
	}
}

func writeRow(b *strings.Builder, run *runlog.Run, s *runlog.Step, y int, x func(time.Time) float64, now time.Time, critical bool) {
	label := s.Addr
	if len(label) > 36 {
		label = label[:35] + "…"
	}
	class := "row st-" + string(run.View(s))
	if critical {
		class += " critical"
	}
	fmt.Fprintf(b, `<a href="%s"><g class="%s" data-addr="%s"><title>%s: %s, %s</title><text class="label" x="4" y="%d">%s</text>`,
		html.EscapeString(stepHref(run.Number, s.Addr)), class, html.EscapeString(s.Addr), html.EscapeString(s.Addr),
		html.EscapeString(string(run.View(s))), html.EscapeString(formatDuration(s.Duration)), y+14, html.EscapeString(label))
	attempts := s.Attempts
	if len(attempts) == 0 {
		attempts = []runlog.Attempt{{Number: 1, Started: s.Started, Finished: s.Finished}}
	}
	for i, a := range attempts {
		from, to := a.Started, a.Finished
		if from.IsZero() {
			from = s.Started
		}
		if to.IsZero() {
			to = s.Finished
		}
		if to.IsZero() {
			to = now
		}
		bar := "bar"
		if i < len(attempts)-1 {
			bar += " retried"
		}
		w := max(x(to)-x(from), 2)
		fmt.Fprintf(b, `<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d"><title>attempt %d%s</title></rect>`,
			bar, x(from), y+3, w, tlRow-6, a.Number, html.EscapeString(attemptNote(a)))
	}
	b.WriteString(`</g></a>`)
}

func attemptNote(a runlog.Attempt) string {
	if a.Error == "" {
		return ""
	}
	return ": " + a.Error
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func sortByStart(rows []*runlog.Step) {
	slices.SortStableFunc(rows, func(a, b *runlog.Step) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.Addr, b.Addr)
	})
}

// stepsTable writes the rows of the run page's table of steps (drawn here
// rather than by the template: a run can have thousands of steps).
func stepsTable(run *runlog.Run) template.HTML {
	var b strings.Builder
	b.Grow(len(run.Steps) * 320)
	for _, s := range run.Steps {
		v := string(run.View(s))
		addr := html.EscapeString(s.Addr)
		fmt.Fprintf(&b, `<tr data-addr="%s" class="st-%s"><td><a href="%s">%s</a></td><td>%s</td><td class="status"><span class="pill st-%s">%s</span></td>`+
			`<td class="attempts">%d</td><td class="duration">%s</td><td class="error">%s</td></tr>`+"\n",
			addr, v, html.EscapeString(stepHref(run.Number, s.Addr)), addr, html.EscapeString(s.Action), v,
			strings.ReplaceAll(v, "_", " "), len(s.Attempts), formatDuration(s.Duration), html.EscapeString(s.Error))
	}
	return template.HTML(b.String())
}
