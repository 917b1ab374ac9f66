// Command gen writes a synthetic benchmark pipeline:
//
//	go run ./bench/gen -shape=chain|fan|layers|layers-blocks -n=N -out=DIR [-refs]
//
// See bench/README.md.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ansflow/ansflow/bench/pipegen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	shape := fs.String("shape", "fan", "graph shape: chain, fan, layers (10 for_each blocks) or layers-blocks (the same graph as N blocks)")
	n := fs.Int("n", 100, "number of exec steps (layer shapes: rounded down to a multiple of 10)")
	out := fs.String("out", "", "directory to write main.hcl into (created if missing)")
	refs := fs.Bool("refs", false, "express dependencies as value references instead of depends_on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-out=DIR is required")
	}
	sh, err := pipegen.ParseShape(*shape)
	if err != nil {
		return err
	}
	return pipegen.WriteDir(*out, sh, *n, pipegen.Options{ValueRefs: *refs})
}
