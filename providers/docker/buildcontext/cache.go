package buildcontext

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// cacheMagic starts every stat cache file; bump it when the format or the
// hash definition changes.
const cacheMagic = "ansflow-buildcontext-statcache-v1\n"

type cacheEntry struct {
	stat statKey
	sum  digest
}

// statCache maps a context-relative path to the digest of its content as of
// a stat key.
type statCache map[string]cacheEntry

// loadCache reads a cache file; anything unreadable yields an empty cache,
// which only costs a re-hash.
func loadCache(file string) statCache {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	c, err := decodeCache(data)
	if err != nil {
		return nil
	}
	return c
}

func decodeCache(data []byte) (statCache, error) {
	if !bytes.HasPrefix(data, []byte(cacheMagic)) {
		return nil, errors.New("not a stat cache")
	}
	r := bytes.NewReader(data[len(cacheMagic):])
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(len(data)) {
		return nil, errors.New("corrupt stat cache")
	}
	c := make(statCache, n)
	var fixed [8*3 + 4 + len(digest{})]byte
	for range n {
		l, err := binary.ReadUvarint(r)
		if err != nil || l > uint64(r.Len()) {
			return nil, errors.New("corrupt stat cache")
		}
		name := make([]byte, l)
		if _, err := io.ReadFull(r, name); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(r, fixed[:]); err != nil {
			return nil, err
		}
		var e cacheEntry
		e.stat.Size = int64(binary.LittleEndian.Uint64(fixed[0:]))
		e.stat.Mtime = int64(binary.LittleEndian.Uint64(fixed[8:]))
		e.stat.Ino = binary.LittleEndian.Uint64(fixed[16:])
		e.stat.Mode = binary.LittleEndian.Uint32(fixed[24:])
		copy(e.sum[:], fixed[28:])
		c[string(name)] = e
	}
	return c, nil
}

// saveCache writes the digests of the context's files whose mtime is older
// than racyBefore (ns), atomically: a temporary file renamed over the old.
func (c *Context) saveCache(digests []digest, racyBefore int64) error {
	file := c.opts.CacheFile
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("build context stat cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".tmp-*")
	if err != nil {
		return fmt.Errorf("build context stat cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	w := bufio.NewWriterSize(tmp, 256<<10)
	w.WriteString(cacheMagic)
	var keep []int
	for i, e := range c.Entries {
		if e.Kind == KindFile && e.stat.Mtime < racyBefore {
			keep = append(keep, i)
		}
	}
	var num [binary.MaxVarintLen64]byte
	w.Write(num[:binary.PutUvarint(num[:], uint64(len(keep)))])
	var fixed [8*3 + 4 + len(digest{})]byte
	for _, i := range keep {
		e := c.Entries[i]
		w.Write(num[:binary.PutUvarint(num[:], uint64(len(e.Path)))])
		w.WriteString(e.Path)
		binary.LittleEndian.PutUint64(fixed[0:], uint64(e.stat.Size))
		binary.LittleEndian.PutUint64(fixed[8:], uint64(e.stat.Mtime))
		binary.LittleEndian.PutUint64(fixed[16:], e.stat.Ino)
		binary.LittleEndian.PutUint32(fixed[24:], e.stat.Mode)
		copy(fixed[28:], digests[i][:])
		w.Write(fixed[:])
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("build context stat cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("build context stat cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("build context stat cache: %w", err)
	}
	return nil
}
