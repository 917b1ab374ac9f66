// Package providers holds the contract between the plan/apply engine and the
// code that carries out each step type (exec, docker_*, k8s_*). The engine owns
// planning, retries, timeouts, logs and state; a provider only reads, applies
// and deletes one step instance at a time.
package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ansflow/ansflow/config"
	"github.com/zclconf/go-cty/cty"
)

// Type is one step type: the schema that describes it (inputs, outputs,
// kind, the words the views use) and the implementation that carries it
// out. Each provider package returns one per step type from the file that
// implements it; providers/builtin lists them.
type Type struct {
	Schema *config.StepSchema
	Step   Step
}

// Step is implemented once per step type. Every method may be called
// concurrently for different instances. Inputs and outputs are cty objects
// shaped by the type's config.StepSchema; inputs arrive with every default
// applied and without sensitivity marks (the engine redacts logs itself).
type Step interface {
	// Fingerprint returns content hashes of what the inputs point at outside
	// the configuration (e.g. "context" -> hash of a build context), so an
	// edit to those files changes the plan. Nil when there are none. It is
	// called at plan time, only when the inputs are wholly known.
	Fingerprint(ctx context.Context, req FingerprintRequest) (map[string]string, error)

	// Read refreshes a declarative instance from the real world: whether it
	// still exists, its current outputs, and how it drifted from its inputs.
	// Run-to-completion types return Prior.Outputs unchanged.
	Read(ctx context.Context, req ReadRequest) (ReadResponse, error)

	// Apply creates, updates, replaces or runs the instance. On failure it
	// returns an error whose message says what went wrong in user terms; it
	// may also return partial outputs (e.g. exit_code).
	Apply(ctx context.Context, req ApplyRequest) (ApplyResponse, error)

	// Delete removes what a declarative instance created. Deleting something
	// already gone is success.
	Delete(ctx context.Context, req DeleteRequest) error
}

// Validator is implemented by step types that check their inputs beyond
// their types (a number that must be a whole exit code, one of two
// attributes that must be set). It is called at plan time, when the inputs
// are wholly known; its error is shown as a problem with the step.
type Validator interface {
	Validate(inputs cty.Value) error
}

// Declarativer is implemented by step types whose kind depends on their inputs
// (docker_run is run-to-completion unless detach = true).
type Declarativer interface {
	IsDeclarative(inputs cty.Value) bool
}

// Registry maps step type names to their implementations. It is built in
// main and passed in; there is no global registry.
type Registry map[string]Step

// RegistryOf returns the implementations of types by name.
func RegistryOf(types []Type) Registry {
	r := make(Registry, len(types))
	for _, t := range types {
		r[t.Schema.Type] = t.Step
	}
	return r
}

// SchemasOf returns the schemas of types by name, for config.LoadWith.
func SchemasOf(types []Type) config.Schemas {
	s := make(config.Schemas, len(types))
	for _, t := range types {
		s[t.Schema.Type] = t.Schema
	}
	return s
}

// Lookup returns the implementation of step type t.
func (r Registry) Lookup(t string) (Step, error) {
	s, ok := r[t]
	if !ok || s == nil {
		return nil, fmt.Errorf("no provider for step type %q in this build of ansflow", t)
	}
	return s, nil
}

// Env is what a provider knows about the pipeline it runs in.
type Env struct {
	Dir       string // pipeline directory (absolute)
	Workspace string
	RunNumber int
	LogDir    string // this run's log directory (absolute); providers may store files here
	// Docker is the evaluated docker { } block (host, tls_verify, cert_path,
	// api_version), or cty.NilVal when the pipeline has none.
	Docker cty.Value
	// Clusters are the evaluated cluster blocks by name; a k8s step's
	// "cluster" input is one of these objects (the engine fills in the
	// default), or null to use the kubeconfig's current context.
	Clusters map[string]cty.Value
	// Registries are the evaluated registry blocks by name (address,
	// username, password), for credentials a step needs without naming a
	// registry itself (a build's FROM images and caches).
	Registries map[string]cty.Value
}

// Prior is what the state recorded for an instance after its last apply.
type Prior struct {
	Inputs  cty.Value       // as applied (sensitive values replaced by their hash)
	Outputs cty.Value       // as returned by the provider
	Private json.RawMessage // opaque data the provider returned with the outputs
}

// Logs receives a step's output as it happens.
type Logs struct {
	Stdout io.Writer
	Stderr io.Writer
	// Progress reports a short status line ("Pushing layer 3/5"); may be nil.
	Progress func(msg string)
}

// Say reports progress when a Progress func is set.
func (l Logs) Say(format string, args ...any) {
	if l.Progress != nil {
		l.Progress(fmt.Sprintf(format, args...))
	}
}

type FingerprintRequest struct {
	Addr   string
	Env    Env
	Inputs cty.Value
}

type ReadRequest struct {
	Addr    string
	Env     Env
	Desired cty.Value // inputs as now configured; may contain unknown values
	Prior   Prior
}

// Drift is one attribute whose real value differs from what was applied.
type Drift struct {
	Path   string // attribute path, e.g. "replicas" or "env.VERSION"
	Before string // what ansflow applied (display form)
	After  string // what is there now (display form)
	// Removed (in a Diff): the apply deletes the object named by Path;
	// Before says why ("no longer in the manifest") and After is unused.
	Removed bool
}

type ReadResponse struct {
	Gone    bool      // the object no longer exists
	Outputs cty.Value // refreshed outputs (cty.NilVal: unchanged)
	Drift   []Drift   // changes made outside ansflow
	// Diff lists attribute-level changes the apply would make, when the
	// provider can compute them better than an input comparison (e.g. a
	// server-side dry run). Optional.
	Diff []Drift
}

// Action is what the engine asks Apply to do.
type Action int

const (
	Create Action = iota
	Update
	Replace
	Run
)

func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Update:
		return "update"
	case Replace:
		return "replace"
	default:
		return "run"
	}
}

type ApplyRequest struct {
	Addr   string
	Env    Env
	Action Action
	Inputs cty.Value // wholly known
	Prior  *Prior    // nil on create
	Logs   Logs
}

type ApplyResponse struct {
	Outputs cty.Value       // object of the schema's output type; unset attributes may be null
	Private json.RawMessage // kept in state and handed back as Prior.Private
}

type DeleteRequest struct {
	Addr  string
	Env   Env
	Prior Prior
	Logs  Logs
}

// InputError is a problem with one input attribute of a step (a pattern
// that matches no file, two attributes that exclude each other). The engine
// reports it as a diagnostic at that attribute when the step sets it.
type InputError struct {
	Input string // the attribute's name, e.g. "manifest_files"
	Err   error
}

func (e *InputError) Error() string { return e.Input + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }
