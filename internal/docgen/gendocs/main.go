// Command gendocs writes ansflow's reference documentation; run it through
// `go generate ./internal/docgen`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ansflow/ansflow/internal/docgen"
)

func main() {
	out := flag.String("out", "docs/reference", "directory to write the reference documentation into")
	flag.Parse()
	if err := docgen.Write(*out); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}
