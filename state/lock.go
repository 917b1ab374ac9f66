package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"time"

	"github.com/google/uuid"
)

// Backoff between attempts to take a lock held by another run.
const (
	lockRetryMin = 100 * time.Millisecond
	lockRetryMax = time.Second
)

// NewLockInfo describes a lock to be taken by this process for operation
// (plan, apply, destroy, state rm, ...): a new random ID, user@host, the
// process id and the time. Version is left for the caller.
func NewLockInfo(operation string) LockInfo {
	return LockInfo{
		ID:        uuid.NewString(),
		Operation: operation,
		Who:       whoAmI(),
		PID:       os.Getpid(),
		Created:   time.Now().UTC(),
	}
}

// whoAmI returns user@host, with "unknown" for what cannot be found.
func whoAmI() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		name = v
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return name + "@" + host
}

// Lock takes the workspace lock: an exclusive flock(2) on <workspace>.lock,
// with info (its Path set to the lock file) written to <workspace>.lock.info
// for others to see. The kernel releases the flock when the process exits
// or is killed, so a dead holder never blocks the next run; its info file
// is simply overwritten.
//
// When another run holds the lock, Lock returns a *LockedError at once, or
// with wait set, tries again with a growing backoff (100ms to 1s) until it
// succeeds or ctx is done, and then returns the *LockedError.
func (l *Local) Lock(ctx context.Context, info LockInfo, wait bool) (*Lock, error) {
	if err := os.MkdirAll(l.dir, dirPerm); err != nil {
		return nil, fmt.Errorf("locking state: %w", err)
	}
	info.Path = l.lockPath()
	delay := lockRetryMin
	for {
		lock, err := l.tryLock(info)
		var locked *LockedError
		if err == nil || !errors.As(err, &locked) || !wait {
			return lock, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, locked
		case <-t.C:
		}
		delay = min(2*delay, lockRetryMax)
	}
}

// tryLock makes one attempt to take the lock.
func (l *Local) tryLock(info LockInfo) (*Lock, error) {
	// ForceUnlock removes the lock file: a file locked just after that
	// is no longer the lock, so check and try again.
	for range 10 {
		f, err := os.OpenFile(l.lockPath(), os.O_RDWR|os.O_CREATE, filePerm)
		if err != nil {
			return nil, fmt.Errorf("locking state: %w", err)
		}
		ok, err := tryFlock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking state %s: %w", l.lockPath(), err)
		}
		if !ok {
			f.Close()
			return nil, &LockedError{Holder: l.holder()}
		}
		if !l.isLockFile(f) {
			f.Close()
			continue
		}
		data, err := json.Marshal(info)
		if err == nil {
			err = writeFileAtomic(l.lockInfoPath(), data)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("recording the lock holder: %w", err)
		}
		return NewLock(info, func() error { return l.release(f, info.ID) }), nil
	}
	return nil, fmt.Errorf("locking state %s: the lock file keeps being removed; is someone running force-unlock in a loop?", l.lockPath())
}

// isLockFile reports whether f is the file now at the lock path.
func (l *Local) isLockFile(f *os.File) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(l.lockPath())
	return err == nil && os.SameFile(held, now)
}

// release removes the info file, unless a forced unlock let someone else
// write theirs, and drops the flock.
func (l *Local) release(f *os.File, id string) error {
	var err error
	if h, ok := l.readHolder(); ok && h.ID == id {
		err = os.Remove(l.lockInfoPath())
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// holder returns the info of the run holding the lock. A holder that has
// just taken the lock may not have written its info yet: wait briefly.
func (l *Local) holder() LockInfo {
	for range 5 {
		if h, ok := l.readHolder(); ok {
			return h
		}
		time.Sleep(20 * time.Millisecond)
	}
	return LockInfo{Who: "unknown (it left no lock info)", Path: l.lockPath()}
}

// readHolder reads the lock info file.
func (l *Local) readHolder() (LockInfo, bool) {
	var h LockInfo
	data, err := os.ReadFile(l.lockInfoPath())
	if err != nil || json.Unmarshal(data, &h) != nil {
		return h, false
	}
	return h, true
}

// ForceUnlock removes the lock of the holder with the given id: the info
// file and the lock file itself, so the next run locks a fresh file even if
// the holder is still alive. A wrong id is an error naming the real holder.
func (l *Local) ForceUnlock(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h, ok := l.readHolder()
	if !ok {
		if l.lockHeld() {
			return fmt.Errorf("the state lock %s is held, but its holder left no lock info; wait a moment and retry", l.lockPath())
		}
		return fmt.Errorf("no lock held on workspace %q", l.workspace)
	}
	if h.ID != id {
		return fmt.Errorf("lock ID %q does not match the lock held on workspace %q: ID %s, %s by %s (pid %d) since %s",
			id, l.workspace, h.ID, h.Operation, h.Who, h.PID, h.Created.Format(time.RFC3339))
	}
	for _, p := range []string{l.lockPath(), l.lockInfoPath()} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing the lock: %w", err)
		}
	}
	return nil
}

// lockHeld reports whether some run holds the lock.
func (l *Local) lockHeld() bool {
	f, err := os.OpenFile(l.lockPath(), os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	ok, err := tryFlock(f)
	return err == nil && !ok
}
