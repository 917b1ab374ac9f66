package buildcontext

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// makeTree writes n files of size bytes each (random content) spread over
// directories of 100 files, with old mtimes.
func makeTree(b *testing.B, n int, size int) string {
	b.Helper()
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	buf := make([]byte, size)
	for i := range n {
		d := filepath.Join(dir, fmt.Sprintf("d%04d", i/100))
		if i%100 == 0 {
			if err := os.Mkdir(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		rand.Read(buf)
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d", i)), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	ageTree(b, dir)
	return dir
}

func benchHash(b *testing.B, dir string, cacheFile string) {
	for b.Loop() {
		c, err := Load(dir, Options{CacheFile: cacheFile})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Hash(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFingerprintCold hashes without a cache (file contents are in the
// page cache after the first iteration, so this measures hashing, not disk).
func BenchmarkFingerprintCold(b *testing.B) {
	b.Run("large-4x256MiB", func(b *testing.B) {
		dir := makeTree(b, 4, 256<<20)
		b.SetBytes(4 * 256 << 20)
		b.ResetTimer()
		benchHash(b, dir, "")
	})
	b.Run("context-5000x40KiB", func(b *testing.B) { // 200 MB in 5,000 files
		dir := makeTree(b, 5000, 40<<10)
		b.SetBytes(5000 * 40 << 10)
		b.ResetTimer()
		benchHash(b, dir, "")
	})
}

// BenchmarkFingerprintWarm re-checks an unchanged tree through the stat
// cache; files/s is the figure of merit.
func BenchmarkFingerprintWarm(b *testing.B) {
	b.Run("100000-files", func(b *testing.B) { benchWarm(b, 100_000, 64) })
	b.Run("context-5000x40KiB", func(b *testing.B) { benchWarm(b, 5000, 40<<10) })
}

func benchWarm(b *testing.B, n, size int) {
	dir := makeTree(b, n, size)
	cache := filepath.Join(b.TempDir(), "cache")
	fill, err := Load(dir, Options{CacheFile: cache})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := fill.Hash(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	benchHash(b, dir, cache)
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
}
