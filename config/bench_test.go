package config_test

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ansflow/ansflow/bench/pipegen"
	"github.com/ansflow/ansflow/config"
)

// loadBenchmarks are the generated pipelines the loader is measured on;
// the names match the whole-process benchmark in bench/run.sh.
var loadBenchmarks = []struct {
	shape pipegen.Shape
	n     int
}{
	{pipegen.Fan, 1000},
	{pipegen.Fan, 10000},
	{pipegen.Chain, 10000},
	{pipegen.Layers, 10000},
}

// BenchmarkLoad measures config.Load (parse, decode, static checks) of
// generated pipelines, e.g. BenchmarkLoad/fan-10000.
func BenchmarkLoad(b *testing.B) {
	for _, bm := range loadBenchmarks {
		b.Run(string(bm.shape)+"-"+strconv.Itoa(bm.n), func(b *testing.B) {
			benchLoad(b, bm.shape, bm.n)
		})
	}
}

// BenchmarkLoadFan1k and BenchmarkLoadFan10k are the headline loader
// figures: N independent exec blocks.
func BenchmarkLoadFan1k(b *testing.B)  { benchLoad(b, pipegen.Fan, 1000) }
func BenchmarkLoadFan10k(b *testing.B) { benchLoad(b, pipegen.Fan, 10000) }

func benchLoad(b *testing.B, shape pipegen.Shape, n int) {
	dir := filepath.Join(b.TempDir(), "p")
	if err := pipegen.WriteDir(dir, shape, n, pipegen.Options{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, diags := config.Load(dir); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/step")
}
