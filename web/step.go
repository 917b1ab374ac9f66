package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/ansflow/ansflow/runlog"
	"github.com/ansflow/ansflow/state"
)

// sensitive is how every hidden value is shown.
const sensitive = "(sensitive value)"

type value struct{ Name, Text string }

type logView struct {
	Stream    string
	Text      string
	Offset    int64
	Truncated bool
}

type earlier struct {
	Run    int
	Status runlog.Status
	Href   string
}

type stepBody struct {
	Run      *runlog.Run
	Step     *runlog.Step
	View     runlog.Status
	Live     bool
	Record   *state.Instance // nil when a later run applied the step again
	RecordAt int             // the run that made the state's record
	ExitCode string
	Inputs   []value
	Outputs  []value
	Logs     []logView
	Earlier  []earlier
}

// maxLog is how much of a log a step page shows (its end).
const maxLog = 1 << 20

func (s *Server) stepPage(w http.ResponseWriter, r *http.Request) {
	st, run, ok := s.loadRun(w, r)
	if !ok {
		return
	}
	addr := r.URL.Query().Get("addr")
	step := run.Step(addr)
	if step == nil {
		http.Error(w, fmt.Sprintf("run %d has no step %q; its page lists the steps", run.Number, addr), http.StatusNotFound)
		return
	}
	b := stepBody{Run: run, Step: step, View: run.View(step), Live: !run.Done() && run.Result != ""}
	if in := st.Instances[addr]; in != nil {
		b.RecordAt = in.Run
		if in.Run == run.Number {
			b.Record = in
			b.Inputs, b.Outputs = values(in.Inputs), values(in.Outputs)
			if in.ExitCode != nil {
				b.ExitCode = fmt.Sprint(*in.ExitCode)
			}
		}
	}
	for _, stream := range []string{"stdout", "stderr"} {
		text, off, cut, err := readLog(s.logPath(st, run.Number, addr, stream), maxLog)
		if err != nil {
			text = "(cannot read the log: " + err.Error() + ")"
		}
		b.Logs = append(b.Logs, logView{Stream: stream, Text: text, Offset: off, Truncated: cut})
	}
	b.Earlier = s.earlierRuns(st, run.Number, addr)
	s.render(w, "step.html", page{Title: addr, Nav: "runs", Body: b})
}

// earlierRuns lists up to 20 runs before number in which addr did
// something or was planned.
func (s *Server) earlierRuns(st *state.State, number int, addr string) []earlier {
	var out []earlier
	for i := len(st.Runs) - 1; i >= 0 && len(out) < 20; i-- {
		n := st.Runs[i].Number
		if n >= number {
			continue
		}
		r, err := s.run(st, n)
		if err != nil {
			continue
		}
		if step := r.Step(addr); step != nil {
			out = append(out, earlier{Run: n, Status: r.View(step), Href: stepHref(n, addr)})
		}
	}
	return out
}

// values lists the attributes of a state record's inputs or outputs, each
// as indented JSON, with every hidden value shown as (sensitive value).
func values(raw json.RawMessage) []value {
	if len(raw) == 0 {
		return nil
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return []value{{Name: "(value)", Text: string(hide(raw))}}
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]value, 0, len(names))
	for _, k := range names {
		v := obj[k]
		if v == nil {
			continue
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		_ = enc.Encode(hideValue(v))
		out = append(out, value{Name: k, Text: strings.TrimSpace(buf.String())})
	}
	return out
}

// hideValue replaces the hashes that stand for sensitive values.
func hideValue(v any) any {
	switch t := v.(type) {
	case string:
		if strings.HasPrefix(t, "(sensitive:") {
			return sensitive
		}
	case map[string]any:
		for k, e := range t {
			t[k] = hideValue(e)
		}
	case []any:
		for i, e := range t {
			t[i] = hideValue(e)
		}
	}
	return v
}

func hide(raw []byte) []byte {
	s := string(raw)
	for {
		i := strings.Index(s, "(sensitive:")
		if i < 0 {
			return []byte(s)
		}
		j := strings.IndexByte(s[i:], ')')
		if j < 0 {
			return []byte(s[:i] + sensitive)
		}
		s = s[:i] + sensitive + s[i+j+1:]
	}
}
