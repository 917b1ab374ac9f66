package engine

import (
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
)

// PanicError is a provider call that panicked: a bug in the provider, which
// fails that step instead of ending the whole plan or apply.
type PanicError struct {
	Call  string // the provider method, e.g. "Apply"
	Value any    // what it panicked with
	Stack []byte
	// Logged: the stack went to the step's stderr log, so Error leaves it out.
	Logged bool
}

func (e *PanicError) Error() string {
	msg := fmt.Sprintf("the provider panicked in %s: %v. This is a bug in ansflow: please report it", e.Call, e.Value)
	if e.Logged {
		return msg + " with the stack trace from the step's stderr log"
	}
	return msg + " with this stack trace:\n" + string(e.Stack)
}

// guard runs one provider method (call names it) and turns a panic into a
// *PanicError. When log is not nil the stack is written there (the step's
// stderr log); otherwise it is carried in the error.
func guard(call string, log io.Writer, f func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		pe := &PanicError{Call: call, Value: r, Stack: debug.Stack()}
		if log != nil {
			_, werr := fmt.Fprintf(log, "ansflow: the provider panicked in %s: %v\n%s", call, r, pe.Stack)
			pe.Logged = werr == nil
		}
		err = pe
	}()
	return f()
}

// panicLog is the step's stderr log file, for the provider calls of an
// apply that have no log of their own (Fingerprint, a destroy's Delete): the
// file is only created when guard writes a stack to it. Close it after.
func (w *world) panicLog(addr string) *stepLog {
	return newStepLog(filepath.Join(w.env.LogDir, LogFileName(addr, "stderr")), w.red, nil)
}
