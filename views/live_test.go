package views

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/providers/builtin"
	"github.com/google/go-cmp/cmp"
)

// screen interprets the subset of terminal control Live writes (newline,
// carriage return, cursor up, erase to end of screen) and returns the lines
// left on the screen.
func screen(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	row := 0
	esc := regexp.MustCompile(`^\x1b\[(\d*)([AJm])`)
	for len(out) > 0 {
		if m := esc.FindStringSubmatch(out); m != nil {
			switch m[2] {
			case "A":
				n, _ := strconv.Atoi(m[1])
				row = max(0, row-n)
			case "J":
				if row < len(lines) {
					lines = lines[:row]
				}
			}
			out = out[len(m[0]):]
			continue
		}
		switch out[0] {
		case '\x1b':
			t.Fatalf("unexpected escape sequence at %q", out[:min(len(out), 10)])
		case '\r':
		case '\n':
			row++
		default:
			for len(lines) <= row {
				lines = append(lines, "")
			}
			lines[row] += out[:1]
		}
		out = out[1:]
	}
	return lines
}

func TestLive(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLive(&buf, Style{Schemas: builtin.Schemas()}, 60, time.Hour)
	l.now = func() time.Time { return clock }
	l.Event(engine.Event{Type: engine.EventStepStart, Addr: "docker_build.app", Action: engine.Create})
	l.Event(engine.Event{Type: engine.EventStepStart, Addr: "exec.test", Action: engine.Run})
	clock = clock.Add(2500 * time.Millisecond)
	l.Event(engine.Event{Type: engine.EventStepLog, Addr: "exec.test", Stream: "stdout", Message: "\x1b[32mok\x1b[0m  pkg/a\t0.3s"})
	l.Event(engine.Event{Type: engine.EventStepProgress, Addr: "docker_build.app", Action: engine.Create, Message: "Step 2/4 : COPY . ."})
	l.Event(engine.Event{Type: engine.EventStepLog, Addr: "exec.test", Stream: "stdout", Message: "ok  pkg/b with a line far too long for the sixty columns of this terminal"})
	l.mu.Lock()
	l.redraw("") // what a tick does
	l.mu.Unlock()

	want := []string{
		"  ⠋ docker_build.app  Building... 2.5s   Step 2/4 : COPY .…",
		"  ⠋ exec.test         Running... 2.5s   ok  pkg/b with a l…",
	}
	if diff := cmp.Diff(want, screen(t, buf.String())); diff != "" {
		t.Errorf("screen while running (-want +got):\n%s", diff)
	}

	clock = clock.Add(10 * time.Second)
	l.Event(engine.Event{Type: engine.EventStepEnd, Addr: "docker_build.app", Action: engine.Create, Result: engine.ResultOK, Duration: 12500 * time.Millisecond, ID: "sha256:1a2b"})
	want = []string{
		"docker_build.app: Built after 13s [id=sha256:1a2b]",
		"  ⠋ exec.test  Running... 12s   ok  pkg/b with a line far …",
	}
	if diff := cmp.Diff(want, screen(t, buf.String())); diff != "" {
		t.Errorf("screen after one step ended (-want +got):\n%s", diff)
	}

	l.Event(engine.Event{Type: engine.EventStepEnd, Addr: "exec.test", Action: engine.Run, Result: engine.ResultFailed, Duration: 12 * time.Second, Error: "exit status 1"})
	l.Close()
	l.Event(engine.Event{Type: engine.EventStepStart, Addr: "exec.late"}) // ignored after Close
	want = []string{
		"docker_build.app: Built after 13s [id=sha256:1a2b]",
		"exec.test: Failed after 12s: exit status 1",
	}
	if diff := cmp.Diff(want, screen(t, buf.String())); diff != "" {
		t.Errorf("screen after Close (-want +got):\n%s", diff)
	}
}

func TestSanitize(t *testing.T) {
	tests := map[string]string{
		"plain":                     "plain",
		"\x1b[1;31mred\x1b[0m text": "red text",
		"10%\r50%\r100%":            "100%",
		"tab\there\r\n":             "tab here",
		"bell\a":                    "bell",
	}
	for in, want := range tests {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		400 * time.Millisecond:  "0.4s",
		4200 * time.Millisecond: "4.2s",
		12 * time.Second:        "12s",
		185 * time.Second:       "3m05s",
	} {
		if got := elapsed(d); got != want {
			t.Errorf("elapsed(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestLiveRegionIsBounded(t *testing.T) {
	var buf bytes.Buffer
	l := NewLive(&buf, Style{Schemas: builtin.Schemas()}, 80, time.Hour)
	for i := range 20 {
		l.Event(engine.Event{Type: engine.EventStepStart, Addr: fmt.Sprintf("exec.s%02d", i), Action: engine.Run})
	}
	got := screen(t, buf.String())
	if len(got) != maxLiveLines {
		t.Fatalf("the region has %d lines, want %d:\n%s", len(got), maxLiveLines, strings.Join(got, "\n"))
	}
	if want := "  ... and 9 more running"; got[len(got)-1] != want {
		t.Errorf("last line %q, want %q", got[len(got)-1], want)
	}
	l.Close()
	if got := screen(t, buf.String()); len(got) != 0 {
		t.Errorf("Close left %q on the screen", got)
	}
}

func TestProgressStillRunningAndRepeats(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := NewProgress(&buf, Style{Schemas: builtin.Schemas()}, 10*time.Second)
	p.Close() // no ticker: the test drives stillRunning itself
	p.now = func() time.Time { return clock }
	p.Event(engine.Event{Type: engine.EventStepStart, Addr: "docker_build.app", Action: engine.Create})
	for _, after := range []time.Duration{4 * time.Second, 10200 * time.Millisecond, 13 * time.Second, 41 * time.Second} {
		p.stillRunning(clock.Add(after))
	}
	for range 3 {
		p.Event(engine.Event{Type: engine.EventStepProgress, Addr: "docker_build.app", Action: engine.Create, Message: "2/5 replicas ready"})
	}
	p.Event(engine.Event{Type: engine.EventStepProgress, Addr: "docker_build.app", Action: engine.Create, Message: "5/5 replicas ready"})
	p.Event(engine.Event{Type: engine.EventStepEnd, Addr: "docker_build.app", Action: engine.Create, Result: engine.ResultOK, Duration: 42 * time.Second, ID: "sha256:1a2b"})
	want := `docker_build.app: Building...
docker_build.app: Still building... [10s elapsed]
docker_build.app: Still building... [40s elapsed]
docker_build.app: 2/5 replicas ready
docker_build.app: 5/5 replicas ready
docker_build.app: Built after 42s [id=sha256:1a2b]
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("plain progress (-want +got):\n%s", diff)
	}
}
