// Command gen writes a synthetic benchmark pipeline:
//
//	go run ./bench/gen -shape=chain|fan|layers|layers-blocks|modules|modules-for-each|modules-flat -n=N -out=DIR [-refs]
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
	shape := fs.String("shape", "fan", "graph shape: chain, fan, layers (10 for_each blocks), layers-blocks (the same graph as N blocks), modules (N/5 module calls of 5 steps), modules-for-each (one module block with N/5 keys) or modules-flat (the same steps without modules)")
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
