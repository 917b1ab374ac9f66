package kubernetes

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/ansflow/ansflow/state"
)

// pointer is the content of the pointer Secret: which generation of
// chunks holds the snapshot, and what it must contain.
type pointer struct {
	FormatVersion int
	Lineage       string
	Serial        uint64 // serial of the snapshot, without the journal
	Generation    uint64
	Chunks        int
	SHA256        string // of the concatenated chunks
	Size          int    // compressed bytes
	Empty         bool   // the snapshot records nothing
}

// encode returns the pointer as Secret data: one readable value per key,
// so `kubectl get secret -o yaml` shows what is there.
func (p pointer) encode() map[string][]byte {
	return map[string][]byte{
		"format_version": []byte(strconv.Itoa(p.FormatVersion)),
		"lineage":        []byte(p.Lineage),
		"serial":         []byte(strconv.FormatUint(p.Serial, 10)),
		"generation":     []byte(strconv.FormatUint(p.Generation, 10)),
		"chunks":         []byte(strconv.Itoa(p.Chunks)),
		"sha256":         []byte(p.SHA256),
		"size":           []byte(strconv.Itoa(p.Size)),
		"empty":          []byte(strconv.FormatBool(p.Empty)),
	}
}

// decodePointer reads a pointer Secret.
func decodePointer(obj *corev1.Secret) (pointer, error) {
	d := obj.Data
	var p pointer
	var err error
	num := func(key string) uint64 {
		if err != nil {
			return 0
		}
		var n uint64
		n, err = strconv.ParseUint(string(d[key]), 10, 64)
		if err != nil {
			err = fmt.Errorf("pointer Secret %s: bad %s %q; was it edited by hand?", obj.Name, key, d[key])
		}
		return n
	}
	p.FormatVersion = int(num("format_version"))
	p.Serial = num("serial")
	p.Generation = num("generation")
	p.Chunks = int(num("chunks"))
	p.Size = int(num("size"))
	p.Lineage = string(d["lineage"])
	p.SHA256 = string(d["sha256"])
	p.Empty = string(d["empty"]) == "true"
	if err == nil && p.Lineage == "" {
		err = fmt.Errorf("pointer Secret %s has no lineage; was it edited by hand?", obj.Name)
	}
	return p, err
}

// record is one line of a journal segment.
type record struct {
	Serial uint64          `json:"serial"`
	Change json.RawMessage `json:"change"`
}

// parts are the objects of one generation, by kind and index.
type parts struct {
	chunks   map[int]*corev1.Secret
	segments []indexed // in index order
}

type indexed struct {
	index int
	obj   *corev1.Secret
}

// sortParts sorts the Secrets of one generation into chunks and journal
// segments by their index.
func sortParts(items []corev1.Secret) parts {
	ps := parts{chunks: map[int]*corev1.Secret{}}
	for i := range items {
		obj := &items[i]
		idx, err := strconv.Atoi(string(obj.Data["index"]))
		if err != nil {
			continue
		}
		switch obj.Labels[labelPart] {
		case partChunk:
			ps.chunks[idx] = obj
		case partJournal:
			ps.segments = append(ps.segments, indexed{idx, obj})
		}
	}
	sort.Slice(ps.segments, func(i, j int) bool { return ps.segments[i].index < ps.segments[j].index })
	return ps
}

// replaySegment applies the records of seg to st, checking that each has
// the next serial, and returns the segment's uncompressed records.
func replaySegment(st *state.State, lineage string, seg indexed) ([]byte, error) {
	if l := string(seg.obj.Data["lineage"]); l != lineage {
		return nil, fmt.Errorf("journal segment %s belongs to lineage %s, not %s: %w", seg.obj.Name, l, lineage, errMoved)
	}
	data, err := gunzip(seg.obj.Data["records"])
	if err != nil {
		return nil, fmt.Errorf("journal segment %s: %w", seg.obj.Name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("journal segment %s: %w", seg.obj.Name, err)
		}
		if r.Serial != st.Serial+1 {
			return nil, fmt.Errorf("journal segment %s: record with serial %d follows serial %d: %w", seg.obj.Name, r.Serial, st.Serial, errMoved)
		}
		var c state.Change
		if err := json.Unmarshal(r.Change, &c); err != nil {
			return nil, fmt.Errorf("journal segment %s, serial %d: %w", seg.obj.Name, r.Serial, err)
		}
		st.Apply(c)
		st.Serial = r.Serial
	}
	return data, sc.Err()
}

// gzipBytes compresses data quickly: states are mostly repetitive JSON.
func gzipBytes(data []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = w.Write(data)
	_ = w.Close()
	return buf.Bytes()
}

func gunzip(data []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// split cuts data into pieces of at most size bytes.
func split(data []byte, size int) [][]byte {
	var out [][]byte
	for len(data) > size {
		out = append(out, data[:size])
		data = data[size:]
	}
	if len(data) > 0 {
		out = append(out, data)
	}
	return out
}

// probeFormatVersion returns the format_version of a state in JSON, or 0.
func probeFormatVersion(data []byte) int {
	var v struct {
		FormatVersion int `json:"format_version"`
	}
	_ = json.Unmarshal(data, &v)
	return v.FormatVersion
}

func newerFormatError(where string, version int) error {
	return fmt.Errorf("state %s has format version %d, but this ansflow writes version %d: upgrade ansflow to use it",
		where, version, state.FormatVersion)
}
