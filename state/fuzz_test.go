package state

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeState feeds arbitrary snapshot and journal bytes to the
// decoder behind Local.Read: it must never panic, and whatever it accepts
// must be a usable state.
func FuzzDecodeState(f *testing.F) {
	snap := []byte(`{"format_version":1,"lineage":"L","serial":2,"workspace":"default","run_number":1,` +
		`"instances":{"exec.a":{"addr":"exec.a","type":"exec","status":"ok","fingerprint":"f","inputs":{"x":1},` +
		`"run":1,"started":"2025-01-01T00:00:00Z","finished":"2025-01-01T00:00:01Z","attempts":1}}}` + "\n")
	header, _ := appendHeader(nil, "L", 2)
	change, _ := json.Marshal(Change{Instance: &Instance{Addr: "exec.b", Type: "exec"}})
	journal := appendRecord(header, 3, change)
	journal = appendRecord(journal, 4, []byte(`{"remove":"exec.a"}`))

	f.Add(snap, journal)
	f.Add(snap, journal[:len(journal)-7])                              // torn last record
	f.Add([]byte(nil), append([]byte(nil), header[:len(header)-1]...)) // torn header, no snapshot
	f.Add([]byte(`{"format_version":99}`), []byte(nil))
	f.Add([]byte("{\n\"format_version\": 1,\n"), []byte("\x00\x00"))
	f.Add([]byte(`null`), []byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, snap, journal []byte) {
		if len(snap) == 0 {
			snap = nil // "no snapshot file" is the interesting empty case
		}
		d, err := decodeState("default", "s.json", snap, "s.journal", journal)
		if err != nil {
			return
		}
		if d.state == nil || d.state.Instances == nil {
			t.Fatalf("decodeState accepted the input but returned %+v", d.state)
		}
		if d.journalValid < 0 || d.journalValid > int64(len(journal)) {
			t.Fatalf("journalValid %d outside the journal of %d bytes", d.journalValid, len(journal))
		}
		if _, err := json.Marshal(d.state); err != nil {
			t.Fatalf("accepted state does not encode: %v", err)
		}
	})
}
