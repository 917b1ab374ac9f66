// Package fakeexec is a stand-in for the exec step type that runs no
// process: every Apply returns what running `true` returns. Benchmarks use
// it to measure the engine without the cost of fork+exec, and to build
// large states quickly.
package fakeexec

import (
	"context"

	"github.com/ansflow/ansflow/providers"
	"github.com/zclconf/go-cty/cty"
)

// Step is the fork-free exec step type.
type Step struct{}

var _ providers.Step = Step{}

// Fingerprint reports no files, as exec does.
func (Step) Fingerprint(context.Context, providers.FingerprintRequest) (map[string]string, error) {
	return nil, nil
}

// Read returns the prior outputs, as exec does.
func (Step) Read(_ context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	return providers.ReadResponse{Outputs: req.Prior.Outputs}, nil
}

// Apply returns exit code 0 and empty output without running anything.
func (Step) Apply(context.Context, providers.ApplyRequest) (providers.ApplyResponse, error) {
	return providers.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{
		"exit_code": cty.NumberIntVal(0),
		"stdout":    cty.StringVal(""),
		"stderr":    cty.StringVal(""),
	})}, nil
}

// Delete has nothing to undo.
func (Step) Delete(context.Context, providers.DeleteRequest) error { return nil }

// Wrap returns reg with exec replaced by Step.
func Wrap(reg func() providers.Registry) func() providers.Registry {
	return func() providers.Registry {
		r := reg()
		r["exec"] = Step{}
		return r
	}
}
