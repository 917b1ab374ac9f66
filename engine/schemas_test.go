package engine_test

import (
	"maps"

	"github.com/hashicorp/hcl/v2"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/internal/providertest"
	"github.com/ansflow/ansflow/providers/builtin"
)

// loadPipeline loads dir with the built-in step types and providertest's.
func loadPipeline(dir string) (*config.Pipeline, hcl.Diagnostics) {
	schemas := builtin.Schemas()
	maps.Copy(schemas, providertest.Schemas())
	return config.LoadWith(dir, config.Options{Schemas: schemas})
}
