package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ansflow/ansflow/config"
)

// redactor hides secret strings. It is safe for concurrent use.
type redactor struct {
	mu      sync.RWMutex
	secrets []string // longest first, so a secret containing another is hidden whole
	r       *strings.Replacer
}

// minSecret is the shortest string redacted; see config.MinSecretLength.
const minSecret = config.MinSecretLength

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
		// Logs are redacted line by line: a multi-line secret (a PEM key)
		// is also hidden one line at a time.
		for _, part := range append(strings.Split(s, "\n"), s) {
			part = strings.TrimSuffix(part, "\r")
			if len(part) >= minSecret && !seen[part] {
				seen[part] = true
				r.secrets = append(r.secrets, part)
			}
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, s := range r.secrets {
		pairs = append(pairs, s, redacted)
	}
	r.r = strings.NewReplacer(pairs...)
}

// safeCut returns how much of b, the start of a long line, can be
// redacted and passed on now: all but a tail that may hold the beginning
// of a secret whose end has not arrived yet, and never in the middle of a
// secret, so a secret split across reads is still caught.
func (r *redactor) safeCut(b []byte) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.secrets) == 0 {
		return len(b)
	}
	cut := max(len(b)-(len(r.secrets[0])-1), 0) // secrets[0] is the longest
	for moved := true; moved; {
		moved = false
		for _, s := range r.secrets {
			lo, hi := max(cut-len(s)+1, 0), min(cut+len(s)-1, len(b))
			if lo >= hi {
				continue
			}
			if i := bytes.Index(b[lo:hi], []byte(s)); i >= 0 && lo+i < cut {
				cut, moved = lo+i, true
			}
		}
	}
	return cut
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
	// cut, when set, says how much of a long line may be emitted before
	// its end (see redactor.safeCut).
	cut func(b []byte) int
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
		n := len(w.buf)
		if w.cut != nil {
			n = w.cut(w.buf)
		}
		w.emit(string(w.buf[:n]))
		w.buf = append(w.buf[:0], w.buf[n:]...)
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
	l.lw = &lineWriter{cut: red.safeCut, emit: func(line string) {
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

// maxLogName bounds the part of a log file name that comes from the
// address, well under the 255 bytes file systems allow.
const maxLogName = 160

// LogFileName is the file name (without directory) of an instance's log.
// Distinct addresses get distinct names: "%", "/", control characters and
// a leading "." are percent-encoded, so for_each keys "x/y" and "x%2Fy"
// do not share a file. A name longer than maxLogName bytes keeps its start
// and ends in a hash of the whole address, so no address is too long to
// store.
func LogFileName(addr, stream string) string {
	var b strings.Builder
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		if c == '%' || c == '/' || c == '\\' || c < 0x20 || c == 0x7f || c == '.' && i == 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	name := b.String()
	if len(name) > maxLogName {
		sum := sha256.Sum256([]byte(addr))
		cut := maxLogName - 2*12 - 1
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + "~" + hex.EncodeToString(sum[:12])
	}
	return name + "." + stream
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
