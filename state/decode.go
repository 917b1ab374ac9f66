package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
)

// The journal is a text file of JSON lines. The first line is a header
// naming the snapshot the journal builds on; every other line is one record:
//
//	{"format_version":1,"lineage":"...","base_serial":7}
//	{"serial":8,"crc32":1234567,"change":{...}}
//	{"serial":9,"crc32":7654321,"change":{...}}
//
// Serials follow each other without gaps from base_serial+1. crc32 is the
// Castagnoli checksum of the bytes of "change" exactly as written.

// journalHeader is the first line of a journal.
type journalHeader struct {
	FormatVersion int    `json:"format_version"`
	Lineage       string `json:"lineage"`
	BaseSerial    uint64 `json:"base_serial"`
}

// journalRecord is one line of a journal after the header.
type journalRecord struct {
	Serial uint64          `json:"serial"`
	CRC32  uint32          `json:"crc32"`
	Change json.RawMessage `json:"change"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendHeader appends the header line of a journal to buf.
func appendHeader(buf []byte, lineage string, base uint64) ([]byte, error) {
	h, err := json.Marshal(journalHeader{FormatVersion: FormatVersion, Lineage: lineage, BaseSerial: base})
	if err != nil {
		return buf, err
	}
	return append(append(buf, h...), '\n'), nil
}

// appendRecord appends one framed record line to buf. change must be
// compact JSON (as json.Marshal makes it: no newlines).
func appendRecord(buf []byte, serial uint64, change []byte) []byte {
	buf = append(buf, `{"serial":`...)
	buf = strconv.AppendUint(buf, serial, 10)
	buf = append(buf, `,"crc32":`...)
	buf = strconv.AppendUint(buf, uint64(crc32.Checksum(change, castagnoli)), 10)
	buf = append(buf, `,"change":`...)
	buf = append(buf, change...)
	return append(buf, "}\n"...)
}

// decoded is a state read back from a snapshot and its journal, with what a
// writer needs to know to append to the journal.
type decoded struct {
	state *State
	// stored is false when there was neither a snapshot nor a journal
	// record: state is then a New one whose lineage nobody holds yet.
	stored bool
	// journalLive is true when the journal belongs to the snapshot, so new
	// records may be appended to it; a journal left over from an older
	// snapshot by a crash during Write (all its records older than the
	// snapshot) is ignored; any other journal that does not continue the
	// snapshot is an error, since dropping it would lose records.
	journalLive bool
	// journalValid is the length of the journal's prefix of whole, valid
	// lines; anything after it is a torn last line.
	journalValid int64
}

// decodeState builds the state of workspace from the bytes of its snapshot
// and journal (nil when the file does not exist). The names are used in
// errors. It never panics, whatever the input.
func decodeState(workspace, snapName string, snap []byte, journalName string, journal []byte) (decoded, error) {
	var d decoded
	if snap != nil {
		s, err := decodeSnapshot(snapName, snap)
		if err != nil {
			return d, err
		}
		d.state, d.stored = s, true
	}
	if journal != nil {
		if err := d.replay(journalName, journal); err != nil {
			return d, err
		}
	}
	if d.state == nil {
		d.state = New(workspace)
	}
	if d.state.Workspace == "" {
		d.state.Workspace = workspace
	}
	if d.state.Instances == nil {
		d.state.Instances = map[string]*Instance{}
	}
	return d, nil
}

// decodeSnapshot parses a snapshot file.
func decodeSnapshot(name string, data []byte) (*State, error) {
	var s State
	err := json.Unmarshal(data, &s)
	if err != nil {
		// A newer format may not even fit our types: say so rather than
		// reporting a confusing type error.
		if v := probeFormatVersion(data); v > FormatVersion {
			return nil, newerFormatError(name, v)
		}
		return nil, jsonError(name, data, err)
	}
	switch {
	case s.FormatVersion > FormatVersion:
		return nil, newerFormatError(name, s.FormatVersion)
	case s.FormatVersion < 1:
		return nil, fmt.Errorf("state file %s has no valid format_version; it is not an ansflow state. "+
			"Restore it from a backup (%s.1) or move it away", name, name)
	case s.Lineage == "":
		return nil, fmt.Errorf("state file %s has no lineage; restore it from a backup (%s.1)", name, name)
	}
	return &s, nil
}

// replay applies the journal's records on top of d.state.
func (d *decoded) replay(name string, data []byte) error {
	lines := splitLines(data)
	if len(lines) == 0 {
		return nil
	}
	if !lines[0].whole {
		return nil // a torn header: the journal was never used
	}
	header, err := decodeHeader(name, lines[0].text)
	if err != nil {
		if len(lines) == 1 && !errors.As(err, new(*newerFormatErr)) {
			return nil // a torn header: the journal was never used
		}
		return err
	}
	if d.state == nil && header.BaseSerial == 0 {
		d.state = &State{FormatVersion: FormatVersion, Lineage: header.Lineage, Instances: map[string]*Instance{}}
	}
	if d.state == nil || header.Lineage != d.state.Lineage || header.BaseSerial != d.state.Serial {
		return d.foreignJournal(name, header, lines[1:])
	}
	d.journalLive = true
	d.journalValid = lines[0].end
	next := header.BaseSerial + 1
	for i, l := range lines[1:] {
		if !l.whole {
			return nil // torn by a crash in the middle of writing it
		}
		c, serial, err := decodeRecord(l.text)
		if err != nil {
			// A record and its newline are written by one write(2): a
			// crash leaves a last line without its newline, never a
			// whole line that does not check out.
			return fmt.Errorf("state journal %s is corrupt at line %d: %v. %s", name, i+2, err, corruptFix(i == len(lines)-2))
		}
		if serial != next {
			return fmt.Errorf("state journal %s is corrupt at line %d: serial %d, want %d. %s", name, i+2, serial, next, corruptFix(false))
		}
		d.state.Apply(c)
		d.state.Serial = serial
		d.stored = true
		d.journalValid = l.end
		next++
	}
	return nil
}

// corruptFix says how to recover from a corrupt journal record.
func corruptFix(last bool) string {
	if last {
		return "It is the last record, and whole, so it was damaged after it was written rather than torn by a crash. " +
			"Delete that line to keep the records before it, or move the journal away to fall back to the last snapshot"
	}
	return "Move the journal away to fall back to the last snapshot, losing the changes recorded since"
}

// foreignJournal decides about a journal that does not continue the
// snapshot. A journal whose records are all older than the snapshot is
// what a crash in the middle of Write leaves (the snapshot holds its
// records): it is ignored. A journal with no whole record holds nothing.
// Anything else would lose records, so it is an error.
func (d *decoded) foreignJournal(name string, h journalHeader, records []line) error {
	whole := 0
	for _, l := range records {
		if l.whole {
			whole++
		}
	}
	if whole == 0 {
		return nil
	}
	last := h.BaseSerial + uint64(whole)
	if d.state != nil && h.Lineage == d.state.Lineage && last < d.state.Serial {
		return nil // left over from a Write that crashed before removing it
	}
	snap := "no snapshot"
	if d.state != nil {
		snap = fmt.Sprintf("the snapshot is lineage %s serial %d", d.state.Lineage, d.state.Serial)
	}
	return fmt.Errorf("state journal %s does not continue the state snapshot: it holds %d records on top of lineage %s serial %d, "+
		"but %s, so its records would be lost. If the snapshot was replaced by an older backup on purpose, move the journal away; "+
		"otherwise restore the snapshot the journal belongs to (see the backups next to it, ending in .1 to .%d)",
		name, whole, h.Lineage, h.BaseSerial, snap, backups)
}

func decodeHeader(name string, line []byte) (journalHeader, error) {
	var h journalHeader
	if err := json.Unmarshal(line, &h); err != nil {
		if v := probeFormatVersion(line); v > FormatVersion {
			return h, newerFormatError(name, v)
		}
		return h, fmt.Errorf("state journal %s has a malformed header: %v", name, err)
	}
	switch {
	case h.FormatVersion > FormatVersion:
		return h, newerFormatError(name, h.FormatVersion)
	case h.FormatVersion < 1 || h.Lineage == "":
		return h, fmt.Errorf("state journal %s has a malformed header: no format_version or lineage", name)
	}
	return h, nil
}

// decodeRecord parses and checks one record line.
func decodeRecord(line []byte) (Change, uint64, error) {
	var r journalRecord
	var c Change
	if err := json.Unmarshal(line, &r); err != nil {
		return c, 0, err
	}
	if len(r.Change) == 0 {
		return c, 0, errors.New("record has no change")
	}
	if sum := crc32.Checksum(r.Change, castagnoli); sum != r.CRC32 {
		return c, 0, fmt.Errorf("checksum mismatch (crc32 %d, recorded %d)", sum, r.CRC32)
	}
	if err := json.Unmarshal(r.Change, &c); err != nil {
		return c, 0, err
	}
	return c, r.Serial, nil
}

// line is one line of a file without its newline; end is the offset just
// after it. whole is false for a last line without a newline: records are
// written with their newline in one write, so such a line is always torn.
type line struct {
	text  []byte
	end   int64
	whole bool
}

// splitLines splits data into lines.
func splitLines(data []byte) []line {
	var lines []line
	var off int64
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, line{text: data, end: off + int64(len(data))})
			break
		}
		off += int64(i) + 1
		lines = append(lines, line{text: data[:i], end: off, whole: true})
		data = data[i+1:]
	}
	return lines
}

// probeFormatVersion returns the format_version in data, or 0 when it
// cannot be found.
func probeFormatVersion(data []byte) int {
	var v struct {
		FormatVersion json.Number `json:"format_version"`
	}
	if json.Unmarshal(data, &v) != nil {
		return 0
	}
	n, err := v.FormatVersion.Int64()
	if err != nil || n > 1<<30 {
		return 0
	}
	return int(n)
}

// newerFormatErr is the error for a file written by a newer ansflow.
type newerFormatErr struct {
	file    string
	version int
}

func newerFormatError(file string, version int) error {
	return &newerFormatErr{file: file, version: version}
}

func (e *newerFormatErr) Error() string {
	return fmt.Sprintf("state file %s was written by a newer ansflow (format %d); upgrade ansflow", e.file, e.version)
}

// jsonError describes a JSON decoding error with the position in data.
func jsonError(name string, data []byte, err error) error {
	var offset int64 = -1
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset - 1 // Offset counts the offending byte
	case errors.As(err, &typ):
		offset = typ.Offset // just after the value of the wrong type
	}
	if offset < 0 {
		return fmt.Errorf("state file %s is malformed: %v. Restore it from a backup (%s.1) or fix it by hand", name, err, name)
	}
	ln, col := position(data, offset)
	return fmt.Errorf("state file %s is malformed at line %d, column %d (byte %d): %v. "+
		"Restore it from a backup (%s.1) or fix it by hand", name, ln, col, offset, err, name)
}

// position converts a byte offset in data to a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
