// Command ansflow is a declarative plan/apply tool for CI/CD pipelines of
// Docker and Kubernetes steps.
package main

import (
	"os"

	"github.com/ansflow/ansflow/cmd"
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/providers/exec"
)

func main() {
	os.Exit(cmd.Run(registry))
}

// registry builds the step type implementations of this binary.
func registry() providers.Registry {
	return providers.Registry{
		"exec": exec.New(),
	}
}
