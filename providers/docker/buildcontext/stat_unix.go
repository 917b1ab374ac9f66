//go:build unix

package buildcontext

import (
	"io/fs"
	"syscall"
)

// statKey is what the stat cache compares to decide a file is unchanged.
type statKey struct {
	Size  int64
	Mtime int64 // nanoseconds since the epoch
	Ino   uint64
	Mode  uint32
}

func statOf(fi fs.FileInfo) statKey {
	k := statKey{Size: fi.Size(), Mtime: fi.ModTime().UnixNano(), Mode: uint32(fi.Mode())}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.Ino = uint64(st.Ino)
	}
	return k
}
