package kubernetes

import (
	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers"
)

// types lists this package's step types for its tests; providers/builtin
// lists the binary's.
func (p *Provider) types() []providers.Type {
	return []providers.Type{p.DeployType(), p.HelmReleaseType(), p.ScaleType(), p.DeleteType(), p.WaitType(), p.ExecType(), p.LogsType()}
}

// Steps returns the step implementations by type name, for tests.
func (p *Provider) Steps() map[string]providers.Step { return providers.RegistryOf(p.types()) }

// lookupSchema returns the schema of one of this package's step types.
func lookupSchema(stepType string) *config.StepSchema {
	return providers.SchemasOf(New().types()).Lookup(stepType)
}
