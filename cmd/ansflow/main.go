// Command ansflow is a declarative plan/apply tool for CI/CD pipelines of
// Docker and Kubernetes steps.
package main

import (
	"os"

	"github.com/ansflow/ansflow/cmd"
	"github.com/ansflow/ansflow/providers/builtin"
)

func main() {
	os.Exit(cmd.Run(builtin.Registry))
}
