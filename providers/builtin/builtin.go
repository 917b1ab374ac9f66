// Package builtin assembles the step types compiled into ansflow.
package builtin

import (
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/providers/docker"
	"github.com/ansflow/ansflow/providers/exec"
	"github.com/ansflow/ansflow/providers/kubernetes"
)

// Registry returns a fresh registry of every built-in step type. Docker and
// Kubernetes clients are created lazily, on the first step that needs one.
func Registry() providers.Registry {
	r := providers.Registry{"exec": exec.New()}
	for name, s := range docker.New().Steps() {
		r[name] = s
	}
	for name, s := range kubernetes.New().Steps() {
		r[name] = s
	}
	return r
}
