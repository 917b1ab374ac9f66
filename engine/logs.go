package engine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// redactor hides secret strings. It is safe for concurrent use.
type redactor struct {
	mu      sync.RWMutex
	secrets []string // longest first, so a secret containing another is hidden whole
	r       *strings.Replacer
}

const redacted = "(sensitive value)"

func (r *redactor) add(secrets ...string) {
	if len(secrets) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := make(map[string]bool, len(r.secrets))
	for _, s := range r.secrets {
		seen[s] = true
	}
	for _, s := range secrets {
		if s != "" && !seen[s] {
			seen[s] = true
			r.secrets = append(r.secrets, s)
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, s := range r.secrets {
		pairs = append(pairs, s, redacted)
	}
	r.r = strings.NewReplacer(pairs...)
}

// redact returns s with every secret replaced.
func (r *redactor) redact(s string) string {
	r.mu.RLock()
	rep := r.r
	r.mu.RUnlock()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// lineWriter buffers writes into lines, redacts each whole line (so a secret
// split across two writes is still caught) and hands it to emit. Close
// flushes a last partial line.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(line string) // line includes its trailing newline, if any
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(string(w.buf[:i+1]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a very long line without newline: pass it on
		w.emit(string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

func (w *lineWriter) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
}

// stepLog is one stream (stdout or stderr) of one step: redacted lines go to
// a file created on first use (0600) and to the observer.
type stepLog struct {
	path    string
	lw      *lineWriter
	mu      sync.Mutex
	f       *os.File
	err     error
	written int64
	tail    []string // last lines, for error messages
}

const tailLines = 10

func newStepLog(path string, red *redactor, onLine func(string)) *stepLog {
	l := &stepLog{path: path}
	l.lw = &lineWriter{emit: func(line string) {
		line = red.redact(line)
		l.write(line)
		if onLine != nil {
			onLine(strings.TrimRight(line, "\n"))
		}
	}}
	return l
}

func (l *stepLog) write(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tail = append(l.tail, strings.TrimRight(line, "\n"))
	if len(l.tail) > tailLines {
		l.tail = l.tail[len(l.tail)-tailLines:]
	}
	if l.err != nil {
		return
	}
	if l.f == nil {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
			l.err = err
			return
		}
		l.f, l.err = os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if l.err != nil {
			return
		}
	}
	n, err := l.f.WriteString(line)
	l.written += int64(n)
	if err != nil {
		l.err = err
	}
}

func (l *stepLog) Write(p []byte) (int, error) { return l.lw.Write(p) }

// Close flushes and closes the file.
func (l *stepLog) Close() error {
	l.lw.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		if err := l.f.Close(); err != nil && l.err == nil {
			l.err = err
		}
		l.f = nil
	}
	if l.err != nil {
		return fmt.Errorf("writing log %s: %w", l.path, l.err)
	}
	return nil
}

// Tail returns the last lines written.
func (l *stepLog) Tail() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.tail...)
}

var logNameReplacer = strings.NewReplacer("/", "%2F", "\x00", "")

// LogFileName is the file name (without directory) of an instance's log.
func LogFileName(addr, stream string) string {
	return logNameReplacer.Replace(addr) + "." + stream
}

// LogDir is the directory of run n's logs in a pipeline directory:
// .ansflow/logs/<run> for the default workspace, .ansflow/logs/<workspace>/<run>
// for others (workspace names cannot be numbers).
func LogDir(pipelineDir, workspace string, run int) string {
	if workspace == "" || workspace == "default" {
		return filepath.Join(pipelineDir, ".ansflow", "logs", fmt.Sprint(run))
	}
	return filepath.Join(pipelineDir, ".ansflow", "logs", workspace, fmt.Sprint(run))
}
