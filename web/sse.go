package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/ansflow/ansflow/runlog"
)

// sse writes server-sent events.
type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

func startSSE(w http.ResponseWriter) (*sse, bool) {
	f, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return nil, false
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	f.Flush()
	return &sse{w: w, f: f}, true
}

func (s *sse) send(event string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, data); err != nil {
		return err
	}
	s.f.Flush()
	return nil
}

// stepUpdate is what the page needs to redraw one step.
type stepUpdate struct {
	Addr     string        `json:"addr"`
	Status   runlog.Status `json:"status"`
	Attempts int           `json:"attempts"`
	Duration string        `json:"duration"`
	Error    string        `json:"error,omitempty"`
	Progress string        `json:"progress,omitempty"`
}

type runUpdate struct {
	Result   string       `json:"result"`
	Done     bool         `json:"done"`
	Duration string       `json:"duration"`
	Steps    []stepUpdate `json:"steps,omitempty"`
}

func update(r *runlog.Run, s *runlog.Step) stepUpdate {
	return stepUpdate{Addr: s.Addr, Status: r.View(s), Attempts: len(s.Attempts), Duration: formatDuration(s.Duration), Error: s.Error, Progress: s.Progress}
}

func snapshot(r *runlog.Run) runUpdate {
	u := runUpdate{Result: r.Result, Done: r.Done(), Duration: runDuration(r.Started, r.Finished)}
	for _, s := range r.Steps {
		u.Steps = append(u.Steps, update(r, s))
	}
	return u
}

// runEvents streams a run: a "snapshot" of every step first (a page opened
// mid-run catches up), then a "step" event for each change as the apply
// writes its events file, and "end" when the run is over.
func (s *Server) runEvents(w http.ResponseWriter, r *http.Request) {
	st, run, ok := s.loadRun(w, r)
	if !ok {
		return
	}
	out, ok := startSSE(w)
	if !ok {
		return
	}
	path := runlog.Path(s.Dir, st.Workspace, run.Number)
	f, err := waitOpen(r.Context(), path, s.Poll, run.Done())
	if err != nil { // no events file: all there is was in the page already
		_ = out.send("end", snapshot(run))
		return
	}
	defer f.Close()
	live := &runlog.Run{}
	if _, err := live.Follow(f, nil); err != nil {
		_ = out.send("end", snapshot(run))
		return
	}
	if err := out.send("snapshot", snapshot(live)); err != nil {
		return
	}
	tick := time.NewTicker(s.Poll)
	defer tick.Stop()
	for !live.Done() {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		var sendErr error
		_, err := live.Follow(f, func(ev runlog.Event) {
			if ev.Step != nil && sendErr == nil {
				sendErr = out.send("step", update(live, ev.Step))
			}
		})
		if err != nil || sendErr != nil {
			return
		}
	}
	_ = out.send("end", snapshot(live))
}

// waitOpen opens path, waiting for it to appear while ctx allows (unless
// the run is over: then it will not).
func waitOpen(ctx context.Context, path string, poll time.Duration, done bool) (*os.File, error) {
	for {
		f, err := os.Open(path)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || done {
			return f, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// logStream follows one log of a step from byte ?from= while its run goes
// on: "log" events carry new text, "end" closes.
func (s *Server) logStream(w http.ResponseWriter, r *http.Request) {
	st, run, ok := s.loadRun(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	stream := q.Get("stream")
	if stream != "stdout" && stream != "stderr" {
		http.Error(w, "stream is stdout or stderr", http.StatusBadRequest)
		return
	}
	from, _ := strconv.ParseInt(q.Get("from"), 10, 64)
	out, ok := startSSE(w)
	if !ok {
		return
	}
	events := runlog.Path(s.Dir, st.Workspace, run.Number)
	path := s.logPath(st, run.Number, q.Get("addr"), stream)
	tick := time.NewTicker(s.Poll)
	defer tick.Stop()
	for {
		last, _, _ := runlog.Read(events)
		n, err := sendNew(out, path, from)
		if err != nil {
			return
		}
		from += n
		if last == nil || last.Done() || last.Step(q.Get("addr")) == nil || isOver(last.Step(q.Get("addr")).Status) {
			if n, _ := sendNew(out, path, from); n >= 0 {
				_ = out.send("end", map[string]int64{"offset": from + n})
			}
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

func isOver(s runlog.Status) bool {
	return s == runlog.StatusSucceeded || s == runlog.StatusFailed || s == runlog.StatusSkipped || s == runlog.StatusNotStarted
}

// sendNew sends what path holds after byte from, in pieces of at most
// 64 KiB, and returns how many bytes it sent.
func sendNew(out *sse, path string, from int64) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return 0, err
	}
	var sent int64
	buf := make([]byte, 64<<10)
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			if err := out.send("log", map[string]string{"text": string(buf[:n])}); err != nil {
				return sent, err
			}
			sent += int64(n)
		}
		if rerr == io.EOF {
			return sent, nil
		}
		if rerr != nil {
			return sent, rerr
		}
	}
}
