// Package pipegen writes synthetic ansflow pipelines of a given shape and
// size for benchmarks. Every step is an exec step running `true`, so the
// time measured is ansflow's own work (parsing, graph, evaluation, state)
// plus one fork+exec per step that runs.
package pipegen

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Shape is the dependency structure of a generated pipeline.
type Shape string

// The shapes. They mirror the ones used to measure Terraform
// (/work/shared/bench/peer-terraform.md) so the figures compare.
const (
	// Chain: s0 <- s1 <- ... <- s{N-1}, each step depends on the previous
	// one through depends_on; fully serial.
	Chain Shape = "chain"
	// Fan: N independent steps.
	Fan Shape = "fan"
	// Layers: 10 layers of N/10 instances, written as 10 for_each blocks;
	// every instance of layer k depends on the whole block of layer k-1
	// (depends_on = [exec.l{k-1}]).
	Layers Shape = "layers"
	// LayersBlocks: the same graph as Layers written as N separate blocks,
	// each listing every block of the previous layer in depends_on, so the
	// configuration itself has (N/10)^2 * 9 references.
	LayersBlocks Shape = "layers-blocks"
	// Modules: N/ModuleSteps calls of one module (modules/unit) whose
	// ModuleSteps steps form a chain of value references, each reading the
	// module's input.
	Modules Shape = "modules"
	// ModulesForEach: the same instances as one module block with for_each.
	ModulesForEach Shape = "modules-for-each"
	// ModulesFlat: the steps of Modules written out at the root, chains of
	// ModuleSteps, as a pipeline without modules would have them.
	ModulesFlat Shape = "modules-flat"
)

// Shapes lists every shape, in the order the benchmark script uses.
var Shapes = []Shape{Chain, Fan, Layers, LayersBlocks, Modules, ModulesForEach, ModulesFlat}

// ModuleSteps is the number of steps in each instance of the module shapes.
const ModuleSteps = 5

// LayerCount is the number of layers of the Layers and LayersBlocks shapes.
const LayerCount = 10

// Options choose how dependencies are written.
type Options struct {
	// ValueRefs makes each dependency a value reference in the command
	// (exec.s{i-1}.exit_code, or length(exec.l{k-1}) for layers) instead
	// of a depends_on entry.
	ValueRefs bool
}

// ParseShape returns the shape named s.
func ParseShape(s string) (Shape, error) {
	for _, sh := range Shapes {
		if string(sh) == s {
			return sh, nil
		}
	}
	return "", fmt.Errorf("unknown shape %q: use one of chain, fan, layers, layers-blocks, modules, modules-for-each, modules-flat", s)
}

// WriteDir creates dir if needed and writes the pipeline to dir/main.hcl,
// and for the module shapes the module to dir/modules/unit/main.hcl. Other
// *.hcl files already in dir are left alone; use a fresh directory.
func WriteDir(dir string, shape Shape, n int, o Options) error {
	if shape == Modules || shape == ModulesForEach {
		err := writeFile(filepath.Join(dir, "modules", "unit", "main.hcl"), func(w io.Writer) error {
			ew := &errWriter{w: w}
			writeUnitModule(ew)
			return ew.err
		})
		if err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(dir, "main.hcl"), func(w io.Writer) error { return Write(w, shape, n, o) })
}

// writeFile creates path (and its directory) with what write writes.
func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Write writes a pipeline of n steps of the given shape to w. For the
// layer shapes n is rounded down to a multiple of LayerCount (at least
// one instance per layer).
func Write(w io.Writer, shape Shape, n int, o Options) error {
	if n < 1 {
		return fmt.Errorf("the number of steps must be at least 1, got %d", n)
	}
	ew := &errWriter{w: w}
	switch shape {
	case Chain:
		writeChain(ew, n, o)
	case Fan:
		writeFan(ew, n)
	case Layers:
		writeLayers(ew, layerWidth(n), o)
	case LayersBlocks:
		writeLayerBlocks(ew, layerWidth(n), o)
	case Modules:
		writeModuleCalls(ew, moduleCount(n))
	case ModulesForEach:
		writeModuleForEach(ew, moduleCount(n))
	case ModulesFlat:
		writeModulesFlat(ew, moduleCount(n))
	default:
		return fmt.Errorf("unknown shape %q", shape)
	}
	return ew.err
}

// layerWidth is the number of instances per layer for n steps.
func layerWidth(n int) int { return max(n/LayerCount, 1) }

func writeChain(w *errWriter, n int, o Options) {
	w.printf("exec \"s0\" {\n  command = [\"true\"]\n}\n")
	for i := 1; i < n; i++ {
		if o.ValueRefs {
			w.printf("exec \"s%d\" {\n  command = [\"true\", exec.s%d.exit_code]\n}\n", i, i-1)
			continue
		}
		w.printf("exec \"s%d\" {\n  command    = [\"true\"]\n  depends_on = [exec.s%d]\n}\n", i, i-1)
	}
}

func writeFan(w *errWriter, n int) {
	for i := range n {
		w.printf("exec \"s%d\" {\n  command = [\"true\"]\n}\n", i)
	}
}

func writeLayers(w *errWriter, width int, o Options) {
	keys := keySet(width)
	for k := range LayerCount {
		switch {
		case k == 0:
			w.printf("exec \"l0\" {\n  for_each = %s\n  command  = [\"true\"]\n", keys)
		case o.ValueRefs:
			w.printf("exec \"l%d\" {\n  for_each = %s\n  command  = [\"true\", \"l%d-${each.key}:${length(exec.l%d)}\"]\n", k, keys, k, k-1)
		default:
			w.printf("exec \"l%d\" {\n  for_each   = %s\n  command    = [\"true\"]\n  depends_on = [exec.l%d]\n", k, keys, k-1)
		}
		w.printf("}\n")
	}
}

func writeLayerBlocks(w *errWriter, width int, o Options) {
	for k := range LayerCount {
		for i := range width {
			w.printf("exec \"l%d_%d\" {\n", k, i)
			switch {
			case k == 0:
				w.printf("  command = [\"true\"]\n")
			case o.ValueRefs:
				w.printf("  command = [\"true\"")
				for j := range width {
					w.printf(", exec.l%d_%d.exit_code", k-1, j)
				}
				w.printf("]\n")
			default:
				w.printf("  command    = [\"true\"]\n  depends_on = [")
				for j := range width {
					if j > 0 {
						w.printf(", ")
					}
					w.printf("exec.l%d_%d", k-1, j)
				}
				w.printf("]\n")
			}
			w.printf("}\n")
		}
	}
}

// moduleCount is the number of module instances for n steps.
func moduleCount(n int) int { return max(n/ModuleSteps, 1) }

// writeUnitModule writes the module of the module shapes: a chain of
// ModuleSteps steps reading the input name, and an output of the last.
func writeUnitModule(w *errWriter) {
	w.printf("variable \"name\" {\n  type = string\n}\n")
	w.printf("exec \"s0\" {\n  command = [\"true\", var.name]\n}\n")
	for i := 1; i < ModuleSteps; i++ {
		w.printf("exec \"s%d\" {\n  command = [\"true\", var.name, exec.s%d.exit_code]\n}\n", i, i-1)
	}
	w.printf("output \"last\" {\n  value = exec.s%d.exit_code\n}\n", ModuleSteps-1)
}

func writeModuleCalls(w *errWriter, m int) {
	for i := range m {
		w.printf("module \"m%d\" {\n  source = \"./modules/unit\"\n  name   = \"m%d\"\n}\n", i, i)
	}
}

func writeModuleForEach(w *errWriter, m int) {
	w.printf("module \"m\" {\n  source   = \"./modules/unit\"\n  for_each = %s\n  name     = each.key\n}\n", keySet(m))
}

// writeModulesFlat writes the steps of m module instances at the root.
func writeModulesFlat(w *errWriter, m int) {
	for j := range m {
		w.printf("exec \"m%d_s0\" {\n  command = [\"true\", \"m%d\"]\n}\n", j, j)
		for i := 1; i < ModuleSteps; i++ {
			w.printf("exec \"m%d_s%d\" {\n  command = [\"true\", \"m%d\", exec.m%d_s%d.exit_code]\n}\n", j, i, j, j, i-1)
		}
	}
}

// keySet is the HCL expression toset(["0", "1", ...]) of width keys.
func keySet(width int) string {
	b := []byte("toset([")
	for i := range width {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendQuote(b, strconv.Itoa(i))
	}
	return string(append(b, "])"...))
}

// errWriter keeps the first write error so the generators stay linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
