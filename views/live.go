package views

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ansflow/ansflow/engine"
)

// Live renders apply events for a terminal: finished steps (and retries)
// scroll up as plain lines (the same ones Progress writes), and below them
// a region that is redrawn in place lists the running steps with their
// elapsed time and their last line of output or progress:
//
//	docker_build.app: Built after 31s [id=sha256:1a2b3c4d5e6f]
//	  ⠹ docker_run.unit_tests   Running... 4.2s   ok  app/handlers  0.31s
//	  ⠹ k8s_wait.app            Waiting... 12s
//
// It is safe for concurrent use. Call Close before writing anything else to
// the terminal: it stops the redraws and erases the region.
type Live struct {
	Style
	w     io.Writer
	width int
	now   func() time.Time

	mu      sync.Mutex
	running []*liveStep // in start order
	drawn   int         // lines of the region currently on screen
	frame   int         // spinner frame
	closed  bool

	done    chan struct{}
	once    sync.Once
	ticking sync.WaitGroup
}

type liveStep struct {
	addr    string
	action  engine.Action
	started time.Time
	last    string // last line of output or progress
}

// maxLiveLines bounds the live region, so that it always fits on the
// screen (a region taller than the terminal cannot be redrawn in place).
const maxLiveLines = 12

// LiveRedrawInterval is how often the live region is redrawn.
const LiveRedrawInterval = 200 * time.Millisecond

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// NewLive draws on w, a terminal width columns wide (80 when width <= 0),
// redrawing the running steps every interval (LiveRedrawInterval when
// interval <= 0).
func NewLive(w io.Writer, s Style, width int, interval time.Duration) *Live {
	if width <= 0 {
		width = 80
	}
	if interval <= 0 {
		interval = LiveRedrawInterval
	}
	l := &Live{Style: s, w: w, width: width, now: time.Now, done: make(chan struct{})}
	l.ticking.Go(func() { l.tick(interval) })
	return l
}

func (l *Live) tick(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			l.mu.Lock()
			l.frame++
			l.redraw("")
			l.mu.Unlock()
		}
	}
}

// Close stops redrawing and erases the live region; nothing is written
// after it returns.
func (l *Live) Close() {
	l.once.Do(func() { close(l.done) })
	l.ticking.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.running = nil
		l.redraw("")
		l.closed = true
	}
}

// Event records one apply event and redraws.
func (l *Live) Event(ev engine.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	scroll := ""
	switch ev.Type {
	case engine.EventStepStart:
		l.running = append(l.running, &liveStep{addr: ev.Addr, action: ev.Action, started: l.now()})
	case engine.EventStepLog, engine.EventStepProgress:
		// Output and progress take the running step's line in the
		// region rather than scrolling past: they can come thousands of
		// lines a second, so the next tick shows the latest one.
		if st := l.step(ev.Addr); st != nil && strings.TrimSpace(ev.Message) != "" {
			st.last = ev.Message
		}
		return
	case engine.EventStepRetry:
		scroll = retryLine(ev, l.Style)
	case engine.EventStepEnd:
		l.remove(ev.Addr)
		scroll = endLine(ev, l.Style)
	}
	l.redraw(scroll)
}

func (l *Live) step(addr string) *liveStep {
	for _, s := range l.running {
		if s.addr == addr {
			return s
		}
	}
	return nil
}

func (l *Live) remove(addr string) {
	for i, s := range l.running {
		if s.addr == addr {
			l.running = append(l.running[:i], l.running[i+1:]...)
			return
		}
	}
}

// redraw erases the region, writes scroll (a finished line that stays
// above the region) if any, and draws the region again, in one write so
// the terminal never shows half a frame.
func (l *Live) redraw(scroll string) {
	var b strings.Builder
	if l.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", l.drawn) // up to the region's first line
	}
	b.WriteString("\r\x1b[J") // erase from there to the end of the screen
	if scroll != "" {
		b.WriteString(scroll + "\n")
	}
	l.drawn = 0
	if len(l.running) > 0 {
		width := 0
		for _, s := range l.running {
			width = max(width, utf8.RuneCountInString(s.addr))
		}
		now := l.now()
		shown := l.running
		if len(shown) > maxLiveLines {
			shown = shown[:maxLiveLines-1]
		}
		for _, s := range shown {
			b.WriteString(l.regionLine(s, width, now) + "\n")
			l.drawn++
		}
		if more := len(l.running) - len(shown); more > 0 {
			fmt.Fprintf(&b, "  ... and %d more running\n", more)
			l.drawn++
		}
	}
	io.WriteString(l.w, b.String())
}

// regionLine is one running step: spinner, address, "Doing... elapsed",
// and as much of its last output line as fits on the terminal.
func (l *Live) regionLine(s *liveStep, width int, now time.Time) string {
	v := l.verbs(addrType(s.addr), s.action)
	head := fmt.Sprintf("  %s %-*s  %s... %s", spinner[l.frame%len(spinner)], width, s.addr, v.doing, elapsed(now.Sub(s.started)))
	head = truncate(head, l.width-1)
	room := l.width - 1 - utf8.RuneCountInString(head) - 3
	if last := sanitize(s.last); last != "" && room > 8 {
		return head + "   " + l.paint(ansiDim, truncate(last, room))
	}
	return head
}

// elapsed formats a running time compactly: 0.4s, 4.2s, 12s, 3m05s.
func elapsed(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// sanitize drops control characters (colours, carriage returns) from a
// step's output so it cannot break the region's layout.
func sanitize(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = s[i+1:] // a progress bar: only its latest state
	}
	var b strings.Builder
	inEscape := false
	for _, r := range s {
		switch {
		case inEscape:
			if r >= '@' && r <= '~' && r != '[' {
				inEscape = false
			}
		case r == 0x1b:
			inEscape = true
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// truncate cuts s to n runes, ending with "…" when it cut.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
