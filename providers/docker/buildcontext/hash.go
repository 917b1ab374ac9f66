package buildcontext

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

const (
	// chunkSize is the unit of parallel hashing: files larger than this are
	// hashed as a list of chunk digests. Changing it changes every hash of
	// a large file, so it is part of the hash format.
	chunkSize = 4 << 20
	// racyWindow: files modified this recently before hashing began are
	// not cached, since a later edit within the mtime granularity could go
	// unnoticed (git's "racy clean" problem).
	racyWindow = 2 * time.Second
)

type digest = [sha256.Size]byte

// Hash returns "sha256:<hex>" over the context's entries: relative paths,
// types, file contents, symlink targets and executable bits. With
// Options.CacheFile set, files whose (size, mtime, inode, mode) match the
// cache are not read, and the cache is rewritten atomically when it changed.
func (c *Context) Hash(ctx context.Context) (string, error) {
	start := time.Now()
	var cache statCache
	if c.opts.CacheFile != "" {
		cache = loadCache(c.opts.CacheFile) // a missing or corrupt cache is empty
	}
	digests := make([]digest, len(c.Entries))
	var misses []int
	for i, e := range c.Entries {
		if e.Kind != KindFile {
			continue
		}
		if ce, ok := cache[e.Path]; ok && ce.stat == e.stat {
			digests[i] = ce.sum
			continue
		}
		misses = append(misses, i)
	}
	if err := c.hashFiles(ctx, misses, digests); err != nil {
		return "", err
	}
	if c.opts.CacheFile != "" && (len(misses) > 0 || len(cache) != c.fileCount()) {
		if err := c.saveCache(digests, start.Add(-racyWindow).UnixNano()); err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(c.manifestSum(digests)), nil
}

func (c *Context) fileCount() int {
	n := 0
	for _, e := range c.Entries {
		if e.Kind == KindFile {
			n++
		}
	}
	return n
}

// manifestSum hashes the ordered list of entries with their digests.
func (c *Context) manifestSum(digests []digest) []byte {
	h := sha256.New()
	var num [8]byte
	for i, e := range c.Entries {
		h.Write([]byte{byte(e.Kind)})
		h.Write([]byte(e.Path))
		h.Write([]byte{0})
		switch e.Kind {
		case KindFile:
			if e.Exec {
				h.Write([]byte{'x'})
			} else {
				h.Write([]byte{'-'})
			}
			binary.BigEndian.PutUint64(num[:], uint64(e.Size))
			h.Write(num[:])
			h.Write(digests[i][:])
		case KindSymlink:
			h.Write([]byte(e.Target))
			h.Write([]byte{0})
		}
	}
	return h.Sum(nil)
}

// job is one unit of hashing work: a whole small file or one chunk of a
// large one.
type job struct {
	entry int
	off   int64
	n     int64
	out   *digest
}

// hashFiles fills digests[i] for each entry index in idx, spreading small
// files and the chunks of large files over GOMAXPROCS workers.
func (c *Context) hashFiles(ctx context.Context, idx []int, digests []digest) error {
	if len(idx) == 0 {
		return nil
	}
	var jobs []job
	chunked := map[int][]digest{}
	for _, i := range idx {
		size := c.Entries[i].Size
		if size <= chunkSize {
			jobs = append(jobs, job{entry: i, n: -1, out: &digests[i]})
			continue
		}
		sums := make([]digest, (size+chunkSize-1)/chunkSize)
		chunked[i] = sums
		for k := range sums {
			off := int64(k) * chunkSize
			jobs = append(jobs, job{entry: i, off: off, n: min(chunkSize, size-off), out: &sums[k]})
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	next := make(chan job)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(next)
		for _, j := range jobs {
			select {
			case next <- j:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range workers {
		g.Go(func() error {
			buf := bufPool.Get().(*[]byte)
			defer bufPool.Put(buf)
			for j := range next {
				if err := c.hashJob(j, *buf); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, sums := range chunked {
		digests[i] = combineChunks(c.Entries[i].Size, sums)
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (c *Context) hashJob(j job, buf []byte) error {
	p := c.Entries[j.entry].Path
	f, err := os.Open(filepath.Join(c.Dir, filepath.FromSlash(p)))
	if err != nil {
		return fmt.Errorf("hashing build context: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	var r io.Reader = f
	if j.n >= 0 {
		r = io.NewSectionReader(f, j.off, j.n)
	}
	if _, err := io.CopyBuffer(h, r, buf); err != nil {
		return fmt.Errorf("hashing build context file %s: %w", p, err)
	}
	h.Sum(j.out[:0])
	return nil
}

// combineChunks is the digest of a file larger than chunkSize.
func combineChunks(size int64, sums []digest) digest {
	h := sha256.New()
	h.Write([]byte("ansflow-chunked-v1\x00"))
	var num [8]byte
	binary.BigEndian.PutUint64(num[:], uint64(size))
	h.Write(num[:])
	for _, s := range sums {
		h.Write(s[:])
	}
	var d digest
	h.Sum(d[:0])
	return d
}
