package state_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/ansflow/ansflow/state"
)

// A whole last journal line that does not check out was damaged after it
// was written (a crash only ever leaves a line without its newline): it is
// an error naming the file and the line, never silently dropped.
func TestDamagedLastRecordIsAnError(t *testing.T) {
	for name, rec := range map[string]string{
		"bad checksum":   `{"serial":%d,"crc32":1,"change":{"remove":"exec.test"}}`,
		"flipped byte":   `{"serial":%d,"crc32":0,"change":{"remove":"exec.tesu"}}`,
		"no change":      `{"serial":%d,"crc32":0}`,
		"garbage":        "\x01\x02garbage %d",
		"wrong serial":   `{"serial":%d9,"crc32":0,"change":{}}`,
		"zeros, newline": "\x00\x00\x00%.0d",
	} {
		t.Run(name, func(t *testing.T) {
			l, s, dir := newSample(t)
			appendN(t, l, s.Lineage, 2)
			want, err := l.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			path := filepath.Join(dir, "default.journal")
			appendBytes(t, path, fmt.Sprintf(rec, want.Serial+1)+"\n")
			_, err = state.NewLocal(dir, "default").Read(t.Context())
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 4") {
				t.Fatalf("Read with a damaged whole last record: %v; want an error naming %s, line 4", err, path)
			}
			// Nothing may write over it either.
			err = state.NewLocal(dir, "default").Append(t.Context(), s.Lineage, state.Change{Remove: "exec.n0"})
			if err == nil {
				t.Fatalf("Append over a damaged journal succeeded")
			}
		})
	}
}

// A journal with records that do not continue the snapshot (another
// lineage, a base serial one off either way, no snapshot at all) stops
// every reader: dropping it would lose its records.
func TestForeignJournalIsAnError(t *testing.T) {
	for name, tt := range map[string]struct {
		edit func(h map[string]any, snap *state.State)
		gone bool // remove the snapshot
	}{
		"other lineage":     {edit: func(h map[string]any, _ *state.State) { h["lineage"] = "0000-other" }},
		"base serial + 1":   {edit: func(h map[string]any, s *state.State) { h["base_serial"] = s.Serial + 1 }},
		"base serial - 1":   {edit: func(h map[string]any, s *state.State) { h["base_serial"] = s.Serial - 1 }},
		"snapshot missing":  {gone: true},
		"base serial + 100": {edit: func(h map[string]any, s *state.State) { h["base_serial"] = s.Serial + 100 }},
	} {
		t.Run(name, func(t *testing.T) {
			l, s, dir := newSample(t)
			snapSerial := s.Serial
			appendN(t, l, s.Lineage, 2)
			l.Close()
			path := filepath.Join(dir, "default.journal")
			lines := strings.SplitAfter(readString(t, path), "\n")
			if tt.edit != nil {
				h := map[string]any{}
				if err := jsonUnmarshal(lines[0], &h); err != nil {
					t.Fatal(err)
				}
				tt.edit(h, &state.State{Serial: snapSerial})
				// The records keep serials that follow the edited base,
				// so that only the header disagrees with the snapshot.
				lines = rebase(t, h, lines[1:])
			}
			writeString(t, path, strings.Join(lines, ""))
			if tt.gone {
				if err := os.Remove(filepath.Join(dir, "default.json")); err != nil {
					t.Fatal(err)
				}
			}
			_, err := state.NewLocal(dir, "default").Read(t.Context())
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "does not continue") {
				t.Fatalf("Read with a journal that does not continue the snapshot: %v; want an error naming %s", err, path)
			}
		})
	}
}

// State and journal paths that are not regular files are refused at once,
// naming the file: no hang on a FIFO, no endless read of a device, no
// fresh start from a dangling link.
func TestStateSpecialFiles(t *testing.T) {
	for name, make := range map[string]func(t *testing.T, path string){
		"dangling symlink": func(t *testing.T, path string) { must(t, os.Symlink(path+".gone", path)) },
		"fifo":             func(t *testing.T, path string) { must(t, syscall.Mkfifo(path, 0o600)) },
		"/dev/zero":        func(t *testing.T, path string) { must(t, os.Symlink("/dev/zero", path)) },
		"/dev/urandom":     func(t *testing.T, path string) { must(t, os.Symlink("/dev/urandom", path)) },
		"directory":        func(t *testing.T, path string) { must(t, os.Mkdir(path, 0o700)) },
		"socket": func(t *testing.T, path string) {
			l, err := net.Listen("unix", path)
			must(t, err)
			t.Cleanup(func() { l.Close() })
		},
	} {
		for _, file := range []string{"default.json", "default.journal"} {
			t.Run(name+"/"+file, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "s")
				must(t, os.MkdirAll(dir, 0o700))
				path := filepath.Join(dir, file)
				make(t, path)
				l := state.NewLocal(dir, "default")
				_, err := l.Read(t.Context())
				if err == nil || !strings.Contains(err.Error(), path) {
					t.Fatalf("Read with %s as %s: %v; want an error naming it", name, file, err)
				}
				if err := l.Write(t.Context(), state.New("default")); err == nil {
					t.Errorf("Write over %s as %s succeeded", name, file)
				}
			})
		}
	}
}

// A run whose lock was forced away and a second run: the one that writes
// second on top of a state it has not read fails, and nothing of the other
// is overwritten.
func TestLosingWriterFailsLoudly(t *testing.T) {
	first, s, dir := newSample(t)
	appendN(t, first, s.Lineage, 1) // the first run is under way

	second := state.NewLocal(dir, "default")
	defer second.Close()
	st, err := second.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Append(t.Context(), st.Lineage, state.Change{Remove: "exec.test"}); err != nil {
		t.Fatal(err)
	}

	var conflict *state.ConflictError
	err = first.Append(t.Context(), s.Lineage, state.Change{Instance: &state.Instance{Addr: "exec.late"}})
	if !errors.As(err, &conflict) || !strings.Contains(err.Error(), first.Path()) {
		t.Fatalf("Append by the first run after the second wrote: %v, want a ConflictError naming the state", err)
	}
	if err := first.Write(t.Context(), s); !errors.As(err, &conflict) {
		t.Fatalf("Write by the first run after the second wrote: %v, want a ConflictError", err)
	}
	got, err := state.NewLocal(dir, "default").Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.Instances["exec.n0"] == nil || got.Instances["exec.test"] != nil || got.Instances["exec.late"] != nil {
		t.Errorf("after the conflict: want exec.n0 kept, exec.test removed, exec.late not recorded; got %v", keys(got))
	}
	// The second run finishes normally.
	if err := second.Write(t.Context(), got); err != nil {
		t.Fatalf("Write by the winner: %v", err)
	}
}

func keys(s *state.State) []string {
	var k []string
	for a := range s.Instances {
		k = append(k, a)
	}
	return k
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

var serialField = regexp.MustCompile(`^\{"serial":\d+`)

// rebase returns the journal lines with header h and the records numbered
// from h's base serial on.
func rebase(t *testing.T, h map[string]any, records []string) []string {
	t.Helper()
	head, err := json.Marshal(h)
	must(t, err)
	out := []string{string(head) + "\n"}
	var base uint64
	switch b := h["base_serial"].(type) {
	case float64:
		base = uint64(b)
	case uint64:
		base = b
	}
	for i, r := range records {
		if r == "" {
			continue
		}
		out = append(out, serialField.ReplaceAllString(r, fmt.Sprintf(`{"serial":%d`, base+uint64(i)+1)))
	}
	return out
}
