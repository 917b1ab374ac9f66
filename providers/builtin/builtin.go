// Package builtin assembles the step types compiled into ansflow: each
// entry pairs a type's schema with its implementation, both from the file
// of its provider package that implements it.
package builtin

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/providers/docker"
	"github.com/ansflow/ansflow/providers/exec"
	"github.com/ansflow/ansflow/providers/kubernetes"
)

// Types returns every built-in step type, with fresh providers. Docker and
// Kubernetes clients are created lazily, on the first step that needs one.
func Types() []providers.Type {
	d, k := docker.New(), kubernetes.New()
	return []providers.Type{
		exec.Type(),
		d.BuildType(),
		d.RunType(),
		d.PushType(),
		d.PullType(),
		k.DeployType(),
		k.HelmReleaseType(),
		k.ScaleType(),
		k.DeleteType(),
		k.WaitType(),
		k.ExecType(),
		k.LogsType(),
	}
}

// Registry returns a fresh registry of every built-in step type.
func Registry() providers.Registry { return providers.RegistryOf(Types()) }

// Schemas returns the schemas of every built-in step type, for
// config.LoadWith.
func Schemas() config.Schemas { return providers.SchemasOf(Types()) }

// Load is config.LoadWith with the built-in step types and no module
// resolver.
func Load(dir string) (*config.Pipeline, hcl.Diagnostics) {
	return config.LoadWith(dir, config.Options{Schemas: Schemas()})
}
