package state_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/storetest"
)

// lockHolderEnv makes the test binary act as a process that takes the lock
// of the directory it names and then waits to be killed.
const lockHolderEnv = "ANSFLOW_STATE_TEST_LOCK_HOLDER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(lockHolderEnv); dir != "" {
		holdLock(dir)
		return
	}
	os.Exit(m.Run())
}

func holdLock(dir string) {
	info := state.NewLockInfo("apply")
	if _, err := state.NewLocal(dir, "default").Lock(context.Background(), info, false); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked", info.ID)
	time.Sleep(time.Hour)
}

func TestLocalConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) state.Store {
		return state.NewLocal(t.TempDir(), "default")
	})
}

func TestLocalTwoWriters(t *testing.T) {
	storetest.RunTwoWriters(t, func(t *testing.T) (state.Store, state.Store) {
		dir := t.TempDir()
		a, b := state.NewLocal(dir, "default"), state.NewLocal(dir, "default")
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	})
}

func TestLocalConformanceSyncEveryAppend(t *testing.T) {
	storetest.Run(t, func(t *testing.T) state.Store {
		return state.NewLocal(t.TempDir(), "default", state.WithSyncInterval(0))
	})
}

// newSample writes a sample state to a new store in a temporary directory.
func newSample(t *testing.T) (*state.Local, *state.State, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	l := state.NewLocal(dir, "default")
	t.Cleanup(func() { l.Close() })
	s := storetest.Sample("default")
	if err := l.Write(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return l, s, dir
}

func appendN(t *testing.T, l *state.Local, lineage string, n int) {
	t.Helper()
	for i := range n {
		if err := l.Append(t.Context(), lineage, state.Change{Instance: storetest.Instance(fmt.Sprintf("exec.n%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTornLastJournalLineIgnored(t *testing.T) {
	for name, torn := range map[string]string{
		"cut record":      `{"serial":99,"crc32":1,"change":{"ins`,
		"zeros":           "\x00\x00\x00\x00",
		"whole no ending": `{"serial":%d,"crc32":0,"change":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			l, s, dir := newSample(t)
			appendN(t, l, s.Lineage, 2)
			want, err := l.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(torn, "%d") {
				torn = fmt.Sprintf(torn, want.Serial+1)
			}
			appendBytes(t, filepath.Join(dir, "default.journal"), torn)

			fresh := state.NewLocal(dir, "default")
			got, err := fresh.Read(t.Context())
			if err != nil {
				t.Fatalf("Read with a torn last line: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Read with a torn last line (-want +got):\n%s", diff)
			}

			// The next Append cuts the torn line off rather than burying it.
			if err := fresh.Append(t.Context(), s.Lineage, state.Change{Remove: "exec.n0"}); err != nil {
				t.Fatal(err)
			}
			got, err = state.NewLocal(dir, "default").Read(t.Context())
			if err != nil {
				t.Fatalf("Read after appending past a torn line: %v", err)
			}
			if got.Serial != want.Serial+1 || got.Instances["exec.n0"] != nil {
				t.Errorf("after Append past a torn line: serial %d (want %d), exec.n0 present: %v", got.Serial, want.Serial+1, got.Instances["exec.n0"] != nil)
			}
		})
	}
}

func TestCorruptJournalLineIsAnError(t *testing.T) {
	l, s, dir := newSample(t)
	appendN(t, l, s.Lineage, 3)
	l.Close()
	path := filepath.Join(dir, "default.journal")
	lines := strings.SplitAfter(readString(t, path), "\n")
	lines[2] = strings.Replace(lines[2], "exec.n1", "exec.nX", 1) // line 3: checksum no longer matches
	writeString(t, path, strings.Join(lines, ""))

	_, err := state.NewLocal(dir, "default").Read(t.Context())
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("Read with a corrupt middle line: %v, want an error naming %s and line 3", err, path)
	}
}

func TestJournalSerialGapIsAnError(t *testing.T) {
	l, s, dir := newSample(t)
	appendN(t, l, s.Lineage, 3)
	l.Close()
	path := filepath.Join(dir, "default.journal")
	lines := strings.SplitAfter(readString(t, path), "\n")
	writeString(t, path, lines[0]+lines[1]+lines[3]) // drop the record on line 3

	_, err := state.NewLocal(dir, "default").Read(t.Context())
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("Read with a missing record: %v, want an error at line 3", err)
	}
}

func TestNewerFormatRefused(t *testing.T) {
	newer := state.FormatVersion + 1
	tests := []struct {
		name string
		file string
		edit func(string) string
	}{
		{"snapshot", "default.json", func(s string) string {
			return strings.Replace(s, `"format_version":1`, fmt.Sprintf(`"format_version":%d`, newer), 1)
		}},
		{"snapshot of another shape", "default.json", func(string) string {
			return fmt.Sprintf(`{"format_version":%d,"instances":[1,2,3]}`, newer)
		}},
		{"journal", "default.journal", func(s string) string {
			return strings.Replace(s, `"format_version":1`, fmt.Sprintf(`"format_version":%d`, newer), 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, s, dir := newSample(t)
			appendN(t, l, s.Lineage, 2)
			path := filepath.Join(dir, tt.file)
			writeString(t, path, tt.edit(readString(t, path)))

			_, err := state.NewLocal(dir, "default").Read(t.Context())
			want := fmt.Sprintf("state file %s was written by a newer ansflow (format %d); upgrade ansflow", path, newer)
			if err == nil || err.Error() != want {
				t.Fatalf("Read of a newer format:\n got: %v\nwant: %s", err, want)
			}
		})
	}
}

func TestMalformedSnapshotNamesPosition(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "default.json")
	writeString(t, path, "{\"format_version\": 1,\n  \"lineage\": \"x\",\n  \"serial\": oops}\n")
	_, err := state.NewLocal(dir, "default").Read(t.Context())
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 3, column 13") {
		t.Fatalf("Read of malformed JSON: %v, want an error naming %s at line 3, column 13", err, path)
	}
}

func TestBackupsRotate(t *testing.T) {
	l, s, dir := newSample(t)
	for range 4 {
		if err := l.Write(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	// Five Writes: serials 1..5; the backups hold 4, 3 and 2.
	for i, want := range []uint64{4, 3, 2} {
		path := filepath.Join(dir, fmt.Sprintf("default.json.%d", i+1))
		var b state.State
		if err := json.Unmarshal([]byte(readString(t, path)), &b); err != nil {
			t.Fatalf("backup %s: %v", path, err)
		}
		if b.Serial != want {
			t.Errorf("backup %s has serial %d, want %d", path, b.Serial, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "default.json.4")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("default.json.4 exists (err %v), want only 3 backups", err)
	}
}

func TestFileModes(t *testing.T) {
	l, s, dir := newSample(t)
	if err := l.Write(t.Context(), s); err != nil { // makes a backup
		t.Fatal(err)
	}
	appendN(t, l, s.Lineage, 1)
	lock, err := l.Lock(t.Context(), state.NewLockInfo("apply"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()

	want := map[string]fs.FileMode{
		".":                 fs.ModeDir | 0o700,
		"default.json":      0o600,
		"default.json.1":    0o600,
		"default.journal":   0o600,
		"default.lock":      0o600,
		"default.lock.info": 0o600,
	}
	got := map[string]fs.FileMode{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	got["."] = info.Mode()
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		got[e.Name()] = info.Mode()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("file modes (-want +got):\n%s", diff)
	}
}

func TestSnapshotIsCompactWithSortedKeys(t *testing.T) {
	_, _, dir := newSample(t)
	data := readString(t, filepath.Join(dir, "default.json"))
	if strings.Count(data, "\n") != 1 || !strings.HasSuffix(data, "}\n") {
		t.Errorf("snapshot is not one line of JSON ending in a newline:\n%s", data)
	}
	first := strings.Index(data, `docker_build.app[\"svc0\"]`)
	second := strings.Index(data, `docker_build.app[\"svc1\"]`)
	if first < 0 || second < first {
		t.Errorf("instances are not in sorted order in the snapshot")
	}
}

func TestWriteCompactsJournal(t *testing.T) {
	l, s, dir := newSample(t)
	appendN(t, l, s.Lineage, 5)
	journal := filepath.Join(dir, "default.journal")
	if _, err := os.Stat(journal); err != nil {
		t.Fatalf("no journal after Append: %v", err)
	}
	before, err := l.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(t.Context(), before); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(journal); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("journal still there after Write (err %v), want it folded into the snapshot", err)
	}
	after, err := state.NewLocal(dir, "default").Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("Read after compaction (-want +got):\n%s", diff)
	}
}

// A crash between renaming a new snapshot into place and removing the
// journal leaves a journal of the older snapshot: it must be ignored.
func TestStaleJournalIgnored(t *testing.T) {
	l, s, dir := newSample(t)
	appendN(t, l, s.Lineage, 3)
	l.Close()
	journal := filepath.Join(dir, "default.journal")
	stale := readString(t, journal)

	cur, err := l.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	delete(cur.Instances, "exec.n0")
	if err := l.Write(t.Context(), cur); err != nil {
		t.Fatal(err)
	}
	writeString(t, journal, stale)

	got, err := state.NewLocal(dir, "default").Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cur, got); diff != "" {
		t.Errorf("Read with a stale journal (-want +got):\n%s", diff)
	}
	// Appending starts a new journal.
	fresh := state.NewLocal(dir, "default")
	appendN(t, fresh, s.Lineage, 1)
	got, err = state.NewLocal(dir, "default").Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != cur.Serial+1 {
		t.Errorf("serial after Append over a stale journal: %d, want %d", got.Serial, cur.Serial+1)
	}
}

// Two Locals on one workspace (taking turns, as lock holders do) see each
// other's changes.
func TestLocalsTakingTurns(t *testing.T) {
	a, s, dir := newSample(t)
	b := state.NewLocal(dir, "default")
	defer b.Close()
	appendN(t, a, s.Lineage, 1)
	if err := b.Append(t.Context(), s.Lineage, state.Change{Remove: "exec.test"}); err != nil {
		t.Fatal(err)
	}
	got, err := a.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != s.Serial+2 || got.Instances["exec.test"] != nil || got.Instances["exec.n0"] == nil {
		t.Fatalf("after Appends by two Locals: serial %d, want %d, with exec.n0 and without exec.test", got.Serial, s.Serial+2)
	}
	if err := b.Write(t.Context(), got); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Read(t.Context()); err != nil { // a takes its turn
		t.Fatal(err)
	}
	appendN(t, a, s.Lineage, 1)
	final, err := b.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if final.Serial != got.Serial+1 {
		t.Errorf("Append after another Local's Write: serial %d, want %d", final.Serial, got.Serial+1)
	}
}

func TestLockReleasedWhenHolderKilled(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "locked ") {
		cmd.Process.Kill()
		t.Fatalf("lock holder said %q (%v), want \"locked ID\"", line, err)
	}
	holderID := strings.TrimSpace(strings.TrimPrefix(line, "locked "))

	l := state.NewLocal(dir, "default")
	_, err = l.Lock(t.Context(), state.NewLockInfo("plan"), false)
	var locked *state.LockedError
	if !errors.As(err, &locked) || locked.Holder.ID != holderID || locked.Holder.PID != cmd.Process.Pid {
		cmd.Process.Kill()
		t.Fatalf("Lock while a child holds it: %v, want a LockedError naming ID %s, pid %d", err, holderID, cmd.Process.Pid)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	lock, err := l.Lock(t.Context(), state.NewLockInfo("plan"), false)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	lock.Unlock()
}

func TestForceUnlockOfDeadHolder(t *testing.T) {
	dir := t.TempDir()
	l := state.NewLocal(dir, "default")
	info := state.NewLockInfo("apply")
	// A holder that died leaves its info file behind.
	data, _ := json.Marshal(info)
	writeString(t, filepath.Join(dir, "default.lock.info"), string(data))
	if err := l.ForceUnlock(t.Context(), info.ID); err != nil {
		t.Fatalf("ForceUnlock of a dead holder: %v", err)
	}
	if err := l.ForceUnlock(t.Context(), info.ID); err == nil || !strings.Contains(err.Error(), "no lock held") {
		t.Errorf("second ForceUnlock: %v, want \"no lock held\"", err)
	}
}

func TestNewLockInfo(t *testing.T) {
	info := state.NewLockInfo("apply")
	if info.ID == "" || info.Operation != "apply" || !strings.Contains(info.Who, "@") || info.PID != os.Getpid() || info.Created.IsZero() {
		t.Errorf("NewLockInfo = %+v", info)
	}
	if other := state.NewLockInfo("apply"); other.ID == info.ID {
		t.Errorf("two NewLockInfo share ID %s", info.ID)
	}
}

func TestSyncErrorsAndFlush(t *testing.T) {
	l, s, _ := newSample(t)
	appendN(t, l, s.Lineage, 3)
	if err := l.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	time.Sleep(2 * state.DefaultSyncInterval) // let a background sync run
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	appendN(t, l, s.Lineage, 1) // usable after Close
}

func appendBytes(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func writeString(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
