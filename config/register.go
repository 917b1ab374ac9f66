package config

import "fmt"

// RegisterStepSchema adds a step type to the table Load reads. It exists for
// test step types (internal/providertest) and must be called from an init
// function, before any pipeline is loaded; it panics if the type is taken.
func RegisterStepSchema(s *StepSchema) {
	if _, ok := stepSchemas[s.Type]; ok {
		panic(fmt.Sprintf("config: step type %q is already registered", s.Type))
	}
	stepSchemas[s.Type] = s
}
