// Package builtin assembles the step types compiled into ansflow.
package builtin

import (
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/providers/exec"
)

// Registry returns a fresh registry of every built-in step type.
func Registry() providers.Registry {
	return providers.Registry{
		"exec": exec.New(),
	}
}
