package state

import "github.com/google/uuid"

func newLineage() string { return uuid.NewString() }
