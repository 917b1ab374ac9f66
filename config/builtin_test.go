package config_test

import (
	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers/builtin"
)

func init() { config.BuiltinSchemas = builtin.Schemas() }
