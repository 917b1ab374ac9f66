// Package safefile reads files that users name (state, journals, plan
// files, variable files, file() arguments) without trusting what they are:
// only regular files are read, never more than a limit, and a dangling
// symbolic link is an error rather than a missing file.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Limits used by ansflow's readers. They are generous for real files and
// small enough that a hostile file cannot exhaust memory.
const (
	// StateLimit bounds a state snapshot or journal.
	StateLimit int64 = 512 << 20
	// PlanLimit bounds a saved plan file.
	PlanLimit int64 = 256 << 20
	// ConfigLimit bounds a pipeline or variables file.
	ConfigLimit int64 = 64 << 20
	// FunctionLimit bounds a file read by file(), filebase64(), ...
	FunctionLimit int64 = 64 << 20
)

// Error is why a file was refused. Its message names the file, says what
// is wrong and how to fix it.
type Error struct {
	Path string
	// Problem is a phrase such as "is a FIFO".
	Problem string
	Fix     string

	tooLarge bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s; %s", e.Path, e.Problem, e.Fix)
}

// ErrTooLarge is wrapped by the error for a file over its limit.
var ErrTooLarge = errors.New("file too large")

// Unwrap makes a size error match ErrTooLarge.
func (e *Error) Unwrap() error {
	if e.tooLarge {
		return ErrTooLarge
	}
	return nil
}

// Read returns the content of the regular file at path and the FileInfo of
// the file it read. It returns fs.ErrNotExist (wrapped) when nothing is at
// path, and an *Error when path is a dangling symbolic link, not a regular
// file (a device, a FIFO, a socket, a directory) or larger than limit
// bytes. It never blocks on a FIFO and never reads more than limit+1
// bytes.
func Read(path string, limit int64) ([]byte, os.FileInfo, error) {
	info, err := Check(path, limit)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	// The file may have been replaced since Check: look at what was opened.
	if info, err = f.Stat(); err != nil {
		return nil, nil, err
	}
	if err := checkInfo(path, info, limit); err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > limit {
		return nil, nil, sizeError(path, limit)
	}
	return data, info, nil
}

// Check stats path as Read does, without reading it.
func Check(path string, limit int64) (os.FileInfo, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if l, lerr := os.Lstat(path); lerr == nil && l.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(path)
			return nil, &Error{Path: path, Problem: fmt.Sprintf("is a symbolic link to %s, which does not exist", target),
				Fix: "restore the file it points to, or remove the link if you mean to start afresh"}
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return info, checkInfo(path, info, limit)
}

func checkInfo(path string, info os.FileInfo, limit int64) error {
	if !info.Mode().IsRegular() {
		return &Error{Path: path, Problem: "is " + kind(info.Mode()) + ", not a regular file",
			Fix: "point ansflow at a regular file"}
	}
	if info.Size() > limit {
		return sizeError(path, limit)
	}
	return nil
}

func sizeError(path string, limit int64) error {
	return &Error{Path: path, Problem: fmt.Sprintf("is larger than %s, the most ansflow reads", human(limit)),
		Fix: "check that it is the file you meant", tooLarge: true}
}

// kind names the type of a non-regular file.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return "a special file"
	}
}

func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
