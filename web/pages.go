package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/runlog"
	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/stats"
)

var funcs = template.FuncMap{
	"dur":    formatDuration,
	"when":   func(t time.Time) string { return formatTime(t) },
	"since":  func(a, b time.Time) string { return runDuration(a, b) },
	"status": func(s runlog.Status) string { return strings.ReplaceAll(string(s), "_", " ") },
	"pct":    func(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" },
	"trimpfx": func(p, s string) string {
		return strings.TrimPrefix(s, p)
	},
}

func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func runDuration(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return "-"
	}
	return formatDuration(end.Sub(start))
}

// page is what every template gets.
type page struct {
	Title     string
	Workspace string
	Dir       string
	Nav       string
	Body      any
}

func (s *Server) render(w http.ResponseWriter, name string, p page) {
	p.Workspace, p.Dir = s.Workspace, s.Dir
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, p); err != nil {
		http.Error(w, "rendering the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) state(w http.ResponseWriter, r *http.Request) (*state.State, bool) {
	st, err := s.ReadState(r.Context())
	if err != nil {
		http.Error(w, "reading the state: "+err.Error(), http.StatusInternalServerError)
		return nil, false
	}
	if st.Workspace == "" {
		st.Workspace = s.Workspace
	}
	return st, true
}

type runsBody struct {
	Runs                []state.Run
	Op, Result, User    string
	Operations, Results []string
	Total               int
	Latest              int
	PlanFiles           bool
}

func (s *Server) runsPage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.state(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	b := runsBody{Op: q.Get("operation"), Result: q.Get("result"), User: q.Get("user"), Total: len(st.Runs), Latest: st.RunNumber}
	for i := len(st.Runs) - 1; i >= 0; i-- {
		run := st.Runs[i]
		if !slices.Contains(b.Operations, run.Operation) {
			b.Operations = append(b.Operations, run.Operation)
		}
		if !slices.Contains(b.Results, run.Result) {
			b.Results = append(b.Results, run.Result)
		}
		if (b.Op == "" || run.Operation == b.Op) && (b.Result == "" || run.Result == b.Result) &&
			(b.User == "" || strings.Contains(strings.ToLower(run.User), strings.ToLower(b.User))) {
			b.Runs = append(b.Runs, run)
		}
	}
	slices.Sort(b.Operations)
	slices.Sort(b.Results)
	s.render(w, "runs.html", page{Title: "Runs", Nav: "runs", Body: b})
}

func (s *Server) latestRun(w http.ResponseWriter, r *http.Request) {
	st, ok := s.state(w, r)
	if !ok {
		return
	}
	if st.RunNumber == 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/runs/%d", st.RunNumber), http.StatusSeeOther)
}

// loadRun reads run {n} of the request.
func (s *Server) loadRun(w http.ResponseWriter, r *http.Request) (*state.State, *runlog.Run, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n <= 0 {
		http.Error(w, "a run is a positive number, as in /runs/3", http.StatusBadRequest)
		return nil, nil, false
	}
	st, ok := s.state(w, r)
	if !ok {
		return nil, nil, false
	}
	run, err := s.run(st, n)
	if err != nil {
		http.Error(w, fmt.Sprintf("reading run %d: %v", n, err), http.StatusInternalServerError)
		return nil, nil, false
	}
	if run.Started.IsZero() && len(run.Steps) == 0 {
		http.Error(w, fmt.Sprintf("there is no run %d in workspace %q; the runs page lists them", n, s.Workspace), http.StatusNotFound)
		return nil, nil, false
	}
	return st, run, true
}

type runBody struct {
	Run      *runlog.Run
	Live     bool
	Table    template.HTML
	Graph    template.HTML
	Timeline template.HTML
	Counts   []statusCount
	Prev     int
	Next     int
	Critical []string
}

type statusCount struct {
	Status runlog.Status
	N      int
}

func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	st, run, ok := s.loadRun(w, r)
	if !ok {
		return
	}
	b := runBody{Run: run, Live: !run.Done() && run.Result != "", Critical: run.CriticalPath()}
	if run.Number > 1 {
		b.Prev = run.Number - 1
	}
	if run.Number < st.RunNumber {
		b.Next = run.Number + 1
	}
	counts := map[runlog.Status]int{}
	for _, step := range run.Steps {
		counts[run.View(step)]++
	}
	b.Table = stepsTable(run)
	for _, stt := range statusOrder {
		if counts[stt] > 0 {
			b.Counts = append(b.Counts, statusCount{stt, counts[stt]})
		}
	}
	b.Graph = runGraph(run)
	b.Timeline = timeline(run, time.Now())
	s.render(w, "run.html", page{Title: fmt.Sprintf("Run %d", run.Number), Nav: "runs", Body: b})
}

var statusOrder = []runlog.Status{runlog.StatusRunning, runlog.StatusWaiting, runlog.StatusPlanned, runlog.StatusSucceeded,
	runlog.StatusFailed, runlog.StatusSkipped, runlog.StatusNotStarted, runlog.StatusUpToDate}

func (s *Server) timelineFragment(w http.ResponseWriter, r *http.Request) {
	_, run, ok := s.loadRun(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(timeline(run, time.Now())))
}

type statsBody struct {
	Summary stats.Summary
	Limit   int
}

func (s *Server) statsPage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.state(w, r)
	if !ok {
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 20
	}
	sum := stats.Of(s.lastRuns(st, limit))
	s.render(w, "stats.html", page{Title: "Statistics", Nav: "stats", Body: statsBody{Summary: sum, Limit: limit}})
}

// readLog returns the end of a step's log (at most max bytes) and the
// file's size, the offset a follower starts from.
func readLog(path string, max int64) (string, int64, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", 0, false, err
	}
	size := fi.Size()
	start := max64(0, size-max)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil {
		return "", 0, false, err
	}
	return string(buf), size, start > 0, nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// logPath is a step's log of one run, under the address the step had then
// (before a moved block renamed it).
func (s *Server) logPath(st *state.State, run int, addr, stream string) string {
	addr = st.NameIn(addr, run)
	return engine.LogDir(s.Dir, s.Workspace, run) + string(os.PathSeparator) + engine.LogFileName(addr, stream)
}
