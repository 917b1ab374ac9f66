package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ansflow/ansflow/internal/safefile"
)

// DefaultSyncInterval is how long Local lets journal records wait for an
// fsync, unless WithSyncInterval says otherwise.
const DefaultSyncInterval = 50 * time.Millisecond

// backups is the number of replaced snapshots Local keeps.
const backups = 3

// Local is the default Store: it keeps one workspace in files of a
// directory, the pipeline's .ansflow/state:
//
//	<workspace>.json          snapshot of the whole state, compact JSON with sorted keys
//	<workspace>.json.1 .. .3  the snapshots replaced by the last three Writes, newest first
//	<workspace>.journal       changes recorded by Append since the snapshot, one JSON line each
//	<workspace>.lock          the file locked (flock) by the run holding the workspace
//	<workspace>.lock.info     who holds the lock (LockInfo as JSON)
//
// Files are created with mode 0600 and directories with 0700.
//
// Durability. Write replaces the snapshot atomically (temporary file,
// fsync, rename, fsync of the directory): once it returns, the new state
// survives a crash of the process and of the machine, and readers see the
// old or the new snapshot, never a mixture. Append adds one framed record
// to the journal with a single write(2): once it returns, the record
// survives the process being killed (even with SIGKILL), because it is in
// the kernel's page cache. It reaches the disk, surviving a power loss or
// kernel crash, at most the sync interval later (DefaultSyncInterval,
// see WithSyncInterval; zero means before Append returns), or when Flush,
// Close or Write returns, whichever is first. After a crash, a record torn
// in the middle of being written is the last line of the journal and is
// ignored, together with nothing else.
//
// A Local may be used by many goroutines at once. Several Locals or
// processes may read the same workspace, but only the holder of the lock
// (see Lock) may Write or Append. Write and Append are also conditional on
// the version this Local last read or wrote: when another writer changed
// the files since (a lock forced away from a live holder), they return a
// *ConflictError and write nothing. The check costs the two stat(2) calls
// Append makes anyway; it does not close the window of microseconds
// between them and the write, which only the lock closes.
type Local struct {
	dir          string
	workspace    string
	syncInterval time.Duration

	mu sync.Mutex
	// known describes the files as this Local last saw them; nil when it
	// must read them again.
	known *tail
	// journal is open for appending while known.journalLive.
	journal *os.File
	// journalDirty is set when the journal file was created and its
	// directory entry has not been synced yet.
	journalDirty bool
	// syncPending is set while a background fsync is scheduled.
	syncPending bool
	// syncErr is the error of a background fsync, reported by the next
	// Append, Flush or Close.
	syncErr error
	// seen is the stored version this Local last read or wrote; Write and
	// Append are conditional on it (compare and swap). nil until the first
	// Read, Write or Append.
	seen *version
}

// version identifies a stored state.
type version struct {
	lineage string
	serial  uint64
}

// ConflictError is returned by Write and Append when another writer
// changed the stored state since this store read it: nothing was written.
type ConflictError struct {
	Path        string
	Lineage     string // lineage of the stored state now
	Read, Now   uint64 // serial read, serial stored now
	ReadLineage string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("state %s was changed by another run since this one read it (serial %d then, %d now); nothing was written. "+
		"Was the lock forced (force-unlock) while this run held it? Check that only one run works on the workspace, "+
		"then run again: the next plan starts from the state as the other run left it", e.Path, e.Read, e.Now)
}

var _ Store = (*Local)(nil)

// LocalOption configures a Local.
type LocalOption func(*Local)

// WithSyncInterval sets the longest time a record written by Append waits
// for an fsync (group commit). Zero syncs before every Append returns,
// which costs a few milliseconds per Append on most disks.
func WithSyncInterval(d time.Duration) LocalOption {
	return func(l *Local) { l.syncInterval = max(d, 0) }
}

// NewLocal returns the store of workspace in dir, the pipeline's
// .ansflow/state directory. Nothing is touched until it is used; the
// directory is created by the first Write, Append or Lock.
func NewLocal(dir, workspace string, opts ...LocalOption) *Local {
	l := &Local{dir: dir, workspace: workspace, syncInterval: DefaultSyncInterval}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Path returns the path of the snapshot file.
func (l *Local) Path() string { return filepath.Join(l.dir, l.workspace+".json") }

func (l *Local) journalPath() string  { return filepath.Join(l.dir, l.workspace+".journal") }
func (l *Local) lockPath() string     { return filepath.Join(l.dir, l.workspace+".lock") }
func (l *Local) lockInfoPath() string { return filepath.Join(l.dir, l.workspace+".lock.info") }

// tail is what the files of a Local held when it last looked: enough to
// append to the journal without reading the whole state again.
type tail struct {
	lineage string
	serial  uint64 // serial of the stored state, snapshot plus journal
	// stored is false while neither a snapshot nor a journal record
	// exists: any lineage may then take the workspace.
	stored bool
	// empty is set when the stored state records nothing, so Write may
	// replace it with a state of another lineage.
	empty bool

	snap         os.FileInfo // nil when there is no snapshot
	journalInfo  os.FileInfo // nil when there is no journal file
	journalSize  int64
	journalLive  bool  // the journal continues the snapshot
	journalValid int64 // length of its whole, valid lines
}

// Read returns the stored state: the snapshot with the journal's records
// replayed on top. With nothing stored it returns New(workspace).
func (l *Local) Read(ctx context.Context) (*State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, err := l.load()
	return s, err
}

// Write replaces the stored state with s and folds the journal into it.
// It sets s.Serial to one more than the stored serial, s.FormatVersion to
// FormatVersion and, when empty, s.Workspace. It refuses a state of another
// lineage unless the stored state is empty.
func (l *Local) Write(ctx context.Context, s *State) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s == nil || s.Lineage == "" {
		return errors.New("cannot write a state without a lineage; start from Read or state.New")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t, err := l.current()
	if err != nil {
		return err
	}
	if t.stored && !t.empty && s.Lineage != t.lineage {
		return fmt.Errorf("refusing to overwrite state %s: it belongs to lineage %s, the state being written to lineage %s. "+
			"It looks like the state of another pipeline; use another workspace, or move the file away if you really mean to replace it",
			l.Path(), t.lineage, s.Lineage)
	}

	if err := l.replaceSnapshot(s, t.serial+1); err != nil {
		return err
	}
	snap, err := os.Stat(l.Path())
	if err != nil {
		return err
	}
	l.known = &tail{lineage: s.Lineage, serial: s.Serial, stored: true, empty: s.isEmpty(), snap: snap}
	l.seen = &version{lineage: s.Lineage, serial: s.Serial}
	return nil
}

// replaceSnapshot writes s as the snapshot with the given serial (setting
// s.FormatVersion, s.Serial and an empty s.Workspace) and drops the journal,
// whose records the snapshot now holds. Were the journal to survive a crash
// here, it would be ignored: its base serial is older. l.mu must be held.
func (l *Local) replaceSnapshot(s *State, serial uint64) error {
	out := *s
	out.FormatVersion = FormatVersion
	out.Serial = serial
	if out.Workspace == "" {
		out.Workspace = l.workspace
	}
	data, err := json.Marshal(&out)
	if err != nil {
		return fmt.Errorf("encoding the state: %w", err)
	}
	if err := l.commitSnapshot(append(data, '\n')); err != nil {
		return fmt.Errorf("writing state %s: %w", l.Path(), err)
	}
	s.FormatVersion, s.Serial, s.Workspace = out.FormatVersion, out.Serial, out.Workspace
	l.closeJournal()
	if err := os.Remove(l.journalPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the state journal: %w", err)
	}
	return nil
}

// commitSnapshot rotates the backups and replaces the snapshot with data.
func (l *Local) commitSnapshot(data []byte) error {
	if err := os.MkdirAll(l.dir, dirPerm); err != nil {
		return err
	}
	if err := rotateBackups(l.Path(), backups); err != nil {
		return err
	}
	if err := writeFileAtomic(l.Path(), data); err != nil {
		return err
	}
	return syncDir(l.dir)
}

// Append records c in the journal as one record with the next serial. It
// costs two stat(2) calls, to check that no one else changed the files,
// and one write(2); fsyncs happen in the background (see Local for what is
// durable when). The first Append to a workspace with nothing stored fixes
// its lineage.
func (l *Local) Append(ctx context.Context, lineage string, c Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encoding a state change: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.takeSyncErr(); err != nil {
		return err
	}
	t, err := l.current()
	if err != nil {
		return err
	}
	if t.stored && lineage != t.lineage {
		return fmt.Errorf("cannot record a change of lineage %s in state %s of lineage %s: the state was replaced since it was read; run again",
			lineage, l.Path(), t.lineage)
	}

	var buf []byte
	if !t.journalLive || (!t.stored && lineage != t.lineage) {
		if err := l.startJournal(t); err != nil {
			return err
		}
		if buf, err = appendHeader(buf, lineage, t.serial); err != nil {
			return err
		}
	} else if err := l.openJournal(t); err != nil {
		return err
	}
	buf = appendRecord(buf, t.serial+1, payload)
	n, err := l.journal.Write(buf)
	t.journalSize += int64(n)
	if err != nil {
		// A partial record is truncated away by the next Append.
		return fmt.Errorf("recording a change in %s: %w", l.journalPath(), err)
	}
	t.journalValid = t.journalSize
	t.journalLive, t.stored, t.empty = true, true, false
	t.lineage = lineage
	t.serial++
	l.seen = &version{lineage: t.lineage, serial: t.serial}
	return l.syncJournal()
}

// startJournal truncates or creates the journal for records on top of the
// stored state described by t.
func (l *Local) startJournal(t *tail) error {
	l.closeJournal()
	if err := os.MkdirAll(l.dir, dirPerm); err != nil {
		return err
	}
	f, err := os.OpenFile(l.journalPath(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, filePerm)
	if err != nil {
		return fmt.Errorf("starting the state journal: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.journal, l.journalDirty = f, true
	t.journalInfo, t.journalSize, t.journalValid = info, 0, 0
	return nil
}

// openJournal makes sure l.journal is open on the live journal t describes,
// cutting off a torn last line.
func (l *Local) openJournal(t *tail) error {
	if l.journal == nil {
		f, err := os.OpenFile(l.journalPath(), os.O_WRONLY|os.O_APPEND, filePerm)
		if err != nil {
			return fmt.Errorf("opening the state journal: %w", err)
		}
		info, err := f.Stat()
		if err != nil || !os.SameFile(info, t.journalInfo) {
			f.Close()
			l.known = nil
			return fmt.Errorf("the state journal %s changed while in use; is another ansflow running without the lock?", l.journalPath())
		}
		l.journal = f
	}
	if t.journalSize > t.journalValid {
		if err := l.journal.Truncate(t.journalValid); err != nil {
			return fmt.Errorf("cutting a torn record off the state journal: %w", err)
		}
		t.journalSize = t.journalValid
	}
	return nil
}

// syncJournal makes the journal durable now, or schedules it. The caller
// holds l.mu.
func (l *Local) syncJournal() error {
	if l.syncInterval == 0 {
		return l.syncLocked()
	}
	if !l.syncPending {
		l.syncPending = true
		time.AfterFunc(l.syncInterval, l.backgroundSync)
	}
	return nil
}

// backgroundSync is the group commit: one fsync for every record appended
// in the last interval. It does not hold l.mu while syncing, so Appends go
// on meanwhile.
func (l *Local) backgroundSync() {
	l.mu.Lock()
	l.syncPending = false
	f, dirty := l.journal, l.journalDirty
	l.journalDirty = false
	l.mu.Unlock()
	if f == nil {
		return
	}
	err := syncJournalFile(f, l.dir, dirty)
	if errors.Is(err, os.ErrClosed) {
		return // closed by Write or Close, which synced what mattered
	}
	if err != nil {
		l.mu.Lock()
		if l.syncErr == nil {
			l.syncErr = err
		}
		l.mu.Unlock()
	}
}

// syncLocked fsyncs the journal, and its directory if the journal is new.
// The caller holds l.mu.
func (l *Local) syncLocked() error {
	if l.journal == nil {
		return nil
	}
	dirty := l.journalDirty
	l.journalDirty = false
	return syncJournalFile(l.journal, l.dir, dirty)
}

func syncJournalFile(f *os.File, dir string, syncDirToo bool) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing the state journal: %w", err)
	}
	if syncDirToo {
		if err := syncDir(dir); err != nil {
			return fmt.Errorf("syncing the state directory: %w", err)
		}
	}
	return nil
}

func (l *Local) takeSyncErr() error {
	err := l.syncErr
	l.syncErr = nil
	return err
}

// Flush makes every record appended so far durable against power loss.
func (l *Local) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.takeSyncErr(); err != nil {
		return err
	}
	return l.syncLocked()
}

// Close flushes the journal and closes it. The Local may still be used
// afterwards; it reopens what it needs.
func (l *Local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.takeSyncErr()
	if serr := l.syncLocked(); err == nil {
		err = serr
	}
	l.closeJournal()
	l.known = nil
	return err
}

// closeJournal closes the journal file, if open. The caller syncs first
// when the records matter.
func (l *Local) closeJournal() {
	if l.journal != nil {
		l.journal.Close()
		l.journal = nil
	}
	l.journalDirty = false
}

// current returns the description of the stored files, reading them again
// unless the files are the ones this Local saw last. When they hold
// another version than the one this Local last read or wrote, it returns
// a *ConflictError: a writer must not build on a state it has not seen.
func (l *Local) current() (*tail, error) {
	if l.known != nil && l.unchanged(l.known) {
		return l.known, nil
	}
	prev := l.seen
	_, t, err := l.load()
	if err != nil {
		return nil, err
	}
	if prev != nil && (t.serial != prev.serial || t.stored && t.lineage != prev.lineage) {
		// Stay in conflict: only a new Read makes this Local a writer again.
		l.seen, l.known = prev, nil
		return nil, &ConflictError{Path: l.Path(), Read: prev.serial, Now: t.serial}
	}
	return t, nil
}

// unchanged reports whether the snapshot and the journal are still as t
// describes them. It costs two stat(2) calls.
func (l *Local) unchanged(t *tail) bool {
	snap, err := os.Stat(l.Path())
	switch {
	case err != nil:
		if !errors.Is(err, fs.ErrNotExist) || t.snap != nil {
			return false
		}
	case !sameFileVersion(snap, t.snap):
		return false
	}
	j, err := os.Stat(l.journalPath())
	if err != nil {
		return errors.Is(err, fs.ErrNotExist) && t.journalInfo == nil
	}
	return t.journalInfo != nil && os.SameFile(j, t.journalInfo) && j.Size() == t.journalSize
}

// sameFileVersion reports whether a and b describe the same file with the
// same content, as far as stat can tell. Snapshots are replaced by rename,
// so a new snapshot is a new file.
func sameFileVersion(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// load reads the snapshot and the journal and remembers what it found.
func (l *Local) load() (*State, *tail, error) {
	l.known = nil
	for attempt := 0; ; attempt++ {
		s, t, err := l.loadOnce()
		if err != nil {
			return nil, nil, err
		}
		// A Write between reading the snapshot and the journal makes the
		// pair inconsistent; read again.
		if !l.unchanged(t) && attempt < 3 {
			continue
		}
		if l.journal != nil {
			if info, err := l.journal.Stat(); err != nil || t.journalInfo == nil || !os.SameFile(info, t.journalInfo) {
				l.closeJournal()
			}
		}
		l.known = t
		l.seen = &version{lineage: t.lineage, serial: t.serial}
		return s, t, nil
	}
}

func (l *Local) loadOnce() (*State, *tail, error) {
	snapData, snap, err := readWithInfo(l.Path())
	if err != nil {
		return nil, nil, fmt.Errorf("reading state: %w", err)
	}
	journalData, journal, err := readWithInfo(l.journalPath())
	if err != nil {
		return nil, nil, fmt.Errorf("reading state journal: %w", err)
	}
	d, err := decodeState(l.workspace, l.Path(), snapData, l.journalPath(), journalData)
	if err != nil {
		return nil, nil, err
	}
	t := &tail{
		serial:       d.state.Serial,
		stored:       d.stored,
		empty:        d.state.isEmpty(),
		snap:         snap,
		journalInfo:  journal,
		journalSize:  int64(len(journalData)),
		journalLive:  d.journalLive,
		journalValid: d.journalValid,
	}
	if d.stored || d.journalLive {
		t.lineage = d.state.Lineage
	}
	return d.state, t, nil
}

// readWithInfo reads the regular file at path (at most
// safefile.StateLimit bytes) and stats the file it read. It returns nils
// when nothing is at path; a dangling symbolic link, a device or a FIFO is
// an error. The content may be longer than the size in the FileInfo when
// the file grew meanwhile: callers use the FileInfo for the file's
// identity.
func readWithInfo(path string) ([]byte, os.FileInfo, error) {
	data, info, err := safefile.Read(path, safefile.StateLimit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return data, info, nil
}

// isEmpty reports whether s records nothing.
func (s *State) isEmpty() bool {
	return len(s.Instances) == 0 && len(s.Outputs) == 0 && len(s.Runs) == 0 && s.RunNumber == 0
}
