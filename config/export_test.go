package config

import "github.com/hashicorp/hcl/v2"

// BuiltinSchemas are the step types compiled into ansflow, for this
// package's tests. Package config cannot import providers/builtin (the
// providers import config), so builtin_test.go, an external test file that
// may, sets them from its init.
var BuiltinSchemas Schemas

// Load is LoadWith with the built-in step types, for tests.
func Load(dir string) (*Pipeline, hcl.Diagnostics) {
	return LoadWith(dir, Options{Schemas: BuiltinSchemas})
}

// LookupStepSchema returns a built-in step type's schema, for tests.
func LookupStepSchema(t string) *StepSchema { return BuiltinSchemas.Lookup(t) }
