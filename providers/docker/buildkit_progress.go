package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/progress/progressui"
	digest "github.com/opencontainers/go-digest"

	"github.com/ansflow/ansflow/providers"
)

// tailLines is how many lines of a failed instruction's output an error
// quotes.
const tailLines = 12

// vertexTracker follows BuildKit's vertex stream: it reports the running
// instruction as a one-line status and keeps the last lines of each
// vertex's output to quote when it fails.
type vertexTracker struct {
	logs    providers.Logs
	names   map[digest.Digest]string
	output  map[digest.Digest]*bytes.Buffer
	failed  digest.Digest
	current string
}

func newVertexTracker(logs providers.Logs) *vertexTracker {
	return &vertexTracker{logs: logs, names: map[digest.Digest]string{}, output: map[digest.Digest]*bytes.Buffer{}}
}

func (t *vertexTracker) update(s *bkclient.SolveStatus) {
	for _, v := range s.Vertexes {
		t.names[v.Digest] = v.Name
		if v.Error != "" && t.failed == "" && !strings.HasSuffix(v.Error, context.Canceled.Error()) {
			t.failed = v.Digest
		}
		// Dockerfile instructions are named "[stage 3/7] RUN ...".
		if v.Started != nil && v.Completed == nil && strings.HasPrefix(v.Name, "[") && v.Name != t.current {
			t.current = v.Name
			t.logs.Say("%s", v.Name)
		}
	}
	for _, l := range s.Logs {
		b := t.output[l.Vertex]
		if b == nil {
			b = &bytes.Buffer{}
			t.output[l.Vertex] = b
		}
		b.Write(l.Data)
		if b.Len() > 64<<10 { // keep the tail only
			tail := append([]byte(nil), b.Bytes()[b.Len()-32<<10:]...)
			b.Reset()
			b.Write(tail)
		}
	}
}

// lastLines returns up to n final lines of the failed vertex's output.
func (t *vertexTracker) lastLines(n int) []string {
	b := t.output[t.failed]
	if b == nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// render streams status updates into the step log the way
// `docker buildx build --progress=plain` prints them, and into the
// tracker. It returns when ch is closed.
func (t *vertexTracker) render(ctx context.Context, ch chan *bkclient.SolveStatus, out io.Writer) error {
	display, err := progressui.NewDisplay(out, progressui.PlainMode)
	if err != nil {
		for s := range ch { // the solve must never block on its status
			t.update(s)
		}
		return err
	}
	fwd := make(chan *bkclient.SolveStatus)
	done := make(chan error, 1)
	go func() {
		_, err := display.UpdateFrom(context.WithoutCancel(ctx), fwd)
		done <- err
	}()
	var displayErr error
	for s := range ch {
		t.update(s)
		if fwd == nil {
			continue
		}
		select {
		case fwd <- s:
		case displayErr = <-done: // the display gave up; keep draining
			fwd = nil
		}
	}
	if fwd == nil {
		return displayErr
	}
	close(fwd)
	return <-done
}

// buildError explains a failed solve: the failing instruction, where it is
// in the Dockerfile, and the last lines of its output.
// dockerfile is the Dockerfile's path, to find the instruction's line when
// the engine's BuildKit sends no source information.
func (t *vertexTracker) buildError(host, dockerfile string, err error) error {
	var b strings.Builder
	name := t.names[t.failed]
	if name == "" {
		name = "the build"
	}
	fmt.Fprintf(&b, "docker build failed on the engine at %s: %s", host, name)
	located := false
	for _, src := range errdefs.Sources(err) {
		if src.Info != nil && len(src.Ranges) > 0 {
			fmt.Fprintf(&b, " (%s:%d)", src.Info.Filename, src.Ranges[0].Start.Line)
			located = true
			break
		}
	}
	if !located {
		if line := instructionLine(dockerfile, name); line > 0 {
			fmt.Fprintf(&b, " (%s:%d)", filepath.Base(dockerfile), line)
		}
	}
	fmt.Fprintf(&b, ": %s", rootMessage(err))
	if lines := t.lastLines(tailLines); len(lines) > 0 {
		b.WriteString("\nlast output:\n")
		for _, l := range lines {
			b.WriteString("  " + l + "\n")
		}
	}
	for _, src := range errdefs.Sources(err) {
		var sb bytes.Buffer
		if src.Print(&sb) == nil && sb.Len() > 0 {
			b.WriteString("\n" + strings.TrimRight(sb.String(), "\n"))
		}
	}
	return errors.New(strings.TrimRight(b.String(), "\n"))
}

// rootMessage is the innermost error message, without gRPC wrapping.
func rootMessage(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "rpc error: code = "); i >= 0 {
		rest := msg[i:]
		if j := strings.Index(rest, " desc = "); j >= 0 {
			msg = rest[j+len(" desc = "):]
		}
	}
	return strings.TrimPrefix(msg, "failed to solve: ")
}

// instructionLine finds the line of the Dockerfile instruction a vertex
// is named after ("[stage 2/5] RUN make"); 0 when it cannot tell.
func instructionLine(dockerfile, vertex string) int {
	_, instr, ok := strings.Cut(vertex, "] ")
	if !ok || !strings.HasPrefix(vertex, "[") {
		return 0
	}
	f, err := os.Open(dockerfile)
	if err != nil {
		return 0
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return 0
	}
	want := strings.Join(strings.Fields(instr), " ")
	for _, n := range res.AST.Children {
		if strings.Join(strings.Fields(n.Original), " ") == want {
			return n.StartLine
		}
	}
	return 0
}
