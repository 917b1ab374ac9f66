package views

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
)

// Progress renders apply events as plain lines, in the Terraform manner:
//
//	docker_build.app: Building...
//	docker_build.app: Still building... [20s elapsed]
//	docker_build.app: Built after 31s [id=sha256:1a2b3c4d5e6f]
//
// It is safe for concurrent use. Call Close to stop its ticker.
type Progress struct {
	Style
	w        io.Writer
	every    time.Duration
	now      func() time.Time
	mu       sync.Mutex
	running  map[string]runningStep
	done     chan struct{}
	once     sync.Once
	ticking  sync.WaitGroup
	ShowLogs bool // echo step output lines too
}

type runningStep struct {
	started  time.Time
	action   engine.Action
	typ      string
	next     time.Time // when the next "Still ..." line is due
	progress string    // the last progress message, not repeated
}

// NewProgress writes progress lines to w, repeating a "Still ..." line for
// each running step every interval.
func NewProgress(w io.Writer, s Style, interval time.Duration) *Progress {
	p := &Progress{Style: s, w: w, every: interval, now: time.Now, running: map[string]runningStep{}, done: make(chan struct{})}
	if interval > 0 {
		p.ticking.Go(p.tick)
	}
	return p
}

// Close stops the periodic lines; nothing is written after it returns.
func (p *Progress) Close() {
	p.once.Do(func() { close(p.done) })
	p.ticking.Wait()
}

// tick checks several times per interval, so that "Still ..." lines come
// close to whole multiples of the interval: [10s elapsed], [20s elapsed].
func (p *Progress) tick() {
	t := time.NewTicker(min(p.every/5, time.Second))
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.mu.Lock()
			p.stillRunning(p.now())
			p.mu.Unlock()
		}
	}
}

// stillRunning writes a "Still ..." line for every step whose line is due.
func (p *Progress) stillRunning(now time.Time) {
	addrs := make([]string, 0, len(p.running))
	for a, r := range p.running {
		if !now.Before(r.next) {
			addrs = append(addrs, a)
		}
	}
	sort.Strings(addrs)
	for _, a := range addrs {
		r := p.running[a]
		for !now.Before(r.next) {
			r.next = r.next.Add(p.every) // a busy machine may have skipped some
		}
		p.running[a] = r
		elapsed := now.Sub(r.started)
		if p.every >= time.Second {
			elapsed = elapsed.Truncate(p.every)
		}
		fmt.Fprintf(p.w, "%s: Still %s... [%s elapsed]\n", a, strings.ToLower(p.verbs(r.typ, r.action).doing), roundDuration(elapsed))
	}
}

// Event renders one apply event.
func (p *Progress) Event(ev engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	typ := addrType(ev.Addr)
	v := p.verbs(typ, ev.Action)
	switch ev.Type {
	case engine.EventStepStart:
		now := p.now()
		p.running[ev.Addr] = runningStep{started: now, action: ev.Action, typ: typ, next: now.Add(p.every)}
		fmt.Fprintf(p.w, "%s: %s...\n", p.Bold(ev.Addr), v.doing)
	case engine.EventStepProgress:
		if r, ok := p.running[ev.Addr]; ok {
			if r.progress == ev.Message {
				return // "2/5 replicas ready" once, not at every poll
			}
			r.progress = ev.Message
			p.running[ev.Addr] = r
		}
		fmt.Fprintf(p.w, "%s: %s\n", ev.Addr, ev.Message)
	case engine.EventStepRetry:
		fmt.Fprintln(p.w, retryLine(ev, p.Style))
	case engine.EventStepLog:
		if p.ShowLogs {
			fmt.Fprintf(p.w, "%s (%s): %s\n", ev.Addr, ev.Stream, ev.Message)
		}
	case engine.EventStepEnd:
		delete(p.running, ev.Addr)
		fmt.Fprintln(p.w, endLine(ev, p.Style))
	}
}

// endLine is the line that reports a finished step.
func endLine(ev engine.Event, s Style) string {
	v := s.verbs(addrType(ev.Addr), ev.Action)
	switch ev.Result {
	case engine.ResultOK:
		id := ""
		if ev.ID != "" {
			id = " [" + idLabel(ev.ID) + "]"
		}
		if ev.Action == engine.Delete && roundDuration(ev.Duration) == roundDuration(0) {
			return fmt.Sprintf("%s: %s%s", s.Bold(ev.Addr), v.done, id) // forgetting a record takes no time
		}
		return fmt.Sprintf("%s: %s after %s%s", s.Bold(ev.Addr), v.done, roundDuration(ev.Duration), id)
	case engine.ResultUnchanged:
		return fmt.Sprintf("%s: No changes after all (its inputs turned out the same)", ev.Addr)
	case engine.ResultSkipped:
		return fmt.Sprintf("%s: %s", ev.Addr, s.paint(ansiYellow, "Skipped: "+ev.Error))
	case engine.ResultNotRun:
		return fmt.Sprintf("%s: %s", ev.Addr, s.paint(ansiYellow, "Not started"))
	}
	return fmt.Sprintf("%s: %s", s.Bold(ev.Addr), s.paint(ansiRed, fmt.Sprintf("Failed after %s: %s", roundDuration(ev.Duration), ev.Error)))
}

// retryLine is the line that reports a retry.
func retryLine(ev engine.Event, s Style) string {
	return fmt.Sprintf("%s: %s", ev.Addr, s.paint(ansiYellow, ev.Message+": "+firstLine(ev.Error)))
}

func idLabel(id string) string {
	if strings.HasPrefix(id, "exit=") {
		return id
	}
	return "id=" + id
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

type verbPair struct{ doing, done string }

// verbs words progress by the step type's schema where it has its own
// words, else by the generic create/update/run ones.
func (s Style) verbs(typ string, a engine.Action) verbPair {
	if a == engine.Delete {
		return verbPair{"Destroying", "Destruction complete"}
	}
	if schema := s.Schemas.Lookup(typ); schema != nil && schema.Verbs.Doing != "" {
		return verbPair{schema.Verbs.Doing, schema.Verbs.Done}
	}
	switch a {
	case engine.Create:
		return verbPair{"Creating", "Creation complete"}
	case engine.Update:
		return verbPair{"Modifying", "Modifications complete"}
	case engine.Replace:
		return verbPair{"Replacing", "Replacement complete"}
	}
	return verbPair{"Running", "Ran"}
}

func addrType(addr string) string {
	if a, err := config.ParseAddr(addr, false); err == nil {
		return a.Type
	}
	if i := strings.IndexByte(addr, '.'); i >= 0 {
		return addr[:i]
	}
	return addr
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

// RenderApplySummary writes the closing lines of an apply.
func RenderApplySummary(w io.Writer, r *engine.ApplyResult, s Style, destroy bool) {
	var b strings.Builder
	// Steps that took no measurable time (forgetting a record) are left out.
	addrs := make([]string, 0, len(r.Durations))
	for a, d := range r.Durations {
		if roundDuration(d) != roundDuration(0) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) > 0 {
		b.WriteString("\nStep durations:\n")
		width := 0
		for _, a := range addrs {
			if len(a) > width {
				width = len(a)
			}
		}
		sort.Slice(addrs, func(i, j int) bool {
			if r.Durations[addrs[i]] != r.Durations[addrs[j]] {
				return r.Durations[addrs[i]] > r.Durations[addrs[j]]
			}
			return addrs[i] < addrs[j]
		})
		const max = 20
		for i, a := range addrs {
			if i == max {
				fmt.Fprintf(&b, "  ... and %d more\n", len(addrs)-max)
				break
			}
			fmt.Fprintf(&b, "  %-*s  %s\n", width, a, roundDuration(r.Durations[a]))
		}
	}
	for _, f := range r.Tolerated {
		fmt.Fprintf(&b, "\n%s %s (continue_on_error: its dependents still ran)\n", s.paint(ansiYellow, "Warning:"), f.Err)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "\n%s %s\n", s.paint(ansiRed, "Error:"), f.Err)
	}
	line := ApplySummaryLine(r, destroy)
	switch {
	case r.Interrupted:
		fmt.Fprintf(&b, "\n%s\n", s.paint(ansiYellow+ansiBold, line))
	case r.OK():
		fmt.Fprintf(&b, "\n%s\n", s.paint(ansiGreen+ansiBold, line))
	default:
		fmt.Fprintf(&b, "\n%s\n", s.paint(ansiRed+ansiBold, line))
	}
	io.WriteString(w, b.String())
}

// ApplySummaryLine is the sentence that ends an apply or destroy, e.g.
// "Apply complete after 31s (run 4): 1 created, 0 updated, 2 ran, 0 destroyed, 0 failed."
func ApplySummaryLine(r *engine.ApplyResult, destroy bool) string {
	run := r.Run
	counts := fmt.Sprintf("%d created, %d updated, %d ran, %d destroyed, %d failed", run.Created, run.Updated, run.Ran, run.Deleted, len(r.Failures)+len(r.Tolerated))
	if len(r.Skipped) > 0 {
		counts += fmt.Sprintf(", %d skipped after a failure", len(r.Skipped))
	}
	if len(r.NotStarted) > 0 {
		counts += fmt.Sprintf(", %d not started", len(r.NotStarted))
	}
	if len(r.Waiting) > 0 {
		counts += fmt.Sprintf(", %d waiting for approval", len(r.Waiting)+len(r.Blocked))
	}
	if run.Moved > 0 {
		counts += fmt.Sprintf(", %d moved", run.Moved)
	}
	elapsed := roundDuration(run.Finished.Sub(run.Started))
	word := "Apply"
	if destroy {
		word = "Destroy"
	}
	switch {
	case r.Interrupted:
		return fmt.Sprintf("%s interrupted after %s (run %d): %s. The state records every finished step; run apply again to finish the rest.", word, elapsed, run.Number, counts)
	case len(r.Failures) == 0 && len(r.Skipped) == 0 && len(r.Waiting) > 0:
		return fmt.Sprintf("%s stopped for approval after %s (run %d): %s.", word, elapsed, run.Number, counts)
	case !r.OK():
		return fmt.Sprintf("%s failed after %s (run %d): %s.", word, elapsed, run.Number, counts)
	}
	return fmt.Sprintf("%s complete after %s (run %d): %s.", word, elapsed, run.Number, counts)
}
