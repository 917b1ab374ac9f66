package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
)

// Pipeline is a parsed, statically validated pipeline directory.
type Pipeline struct {
	Dir   string               // absolute path of the pipeline directory
	Files map[string]*hcl.File // by file name as given in diagnostics (relative to the working directory)

	Settings   *Settings // the ansflow { } block; nil when absent
	Variables  map[string]*Variable
	Locals     map[string]*Local
	Outputs    map[string]*Output
	Docker     *DockerBlock // nil when absent
	Registries map[string]*Registry
	Clusters   map[string]*Cluster

	Steps     map[string]*Step // by address "type.name"
	StepOrder []*Step          // in file order, then source order

	Notifies map[string]*Notify // notify blocks by name; nil when none

	// Moved are the moved blocks, in file order, then source order.
	Moved []*Moved

	// Schemas are the step types the pipeline was loaded with; the engine
	// and views ask them about a type (including one only the state holds).
	Schemas Schemas
	// Modules are the module calls by name, ModuleOrder in source order.
	Modules     map[string]*ModuleCall
	ModuleOrder []*ModuleCall
	// Path is the module's directory relative to the root pipeline
	// directory, as path.module shows it: "." for the root pipeline,
	// "modules/service" for a module. Dir is always the root's directory.
	Path string

	dirArg string // the directory as given to Load, for file names in diagnostics
}

// ModuleCall is a module "name" { source = ... } block: a call of the
// module in directory Module.Path with arguments for its variables.
type ModuleCall struct {
	Name        string
	Source      string
	SourceRange hcl.Range
	DeclRange   hcl.Range
	// Module is the loaded module; nil when it could not be loaded (a
	// diagnostic says why).
	Module *Pipeline
	// Args are the arguments for the module's variables, by name.
	Args map[string]*ModuleArg

	// Meta-arguments; nil when absent.
	ForEach   hcl.Expression
	When      hcl.Expression
	DependsOn []hcl.Traversal
	// Refs are what depends_on names in the caller: every step inside the
	// module waits for them. (when and for_each may read only values known
	// before any step runs.)
	Refs []StepRef
	Vars []string
}

// ModuleArg is one argument of a module call: the value of the module's
// variable Name, evaluated in the caller.
type ModuleArg struct {
	Name      string
	Expr      hcl.Expression
	NameRange hcl.Range
	// Refs are the steps and module calls of the caller the value reads;
	// Vars the caller's variables it reads, directly or through locals.
	Refs []StepRef
	Vars []string
}

// IsModule reports whether p is a module rather than the root pipeline.
func (p *Pipeline) IsModule() bool { return p.Path != "." && p.Path != "" }

// Settings is the ansflow { } block.
type Settings struct {
	Backend   *Backend
	Telemetry *Telemetry
	DeclRange hcl.Range
}

// Telemetry is ansflow { telemetry { ... } }: where runs export traces.
type Telemetry struct {
	Config    hcl.Body
	DeclRange hcl.Range
}

// Backend is ansflow { backend "TYPE" { ... } }.
type Backend struct {
	Type      string
	Config    hcl.Body
	DeclRange hcl.Range
}

// Variable is a variable "name" { } block.
type Variable struct {
	Name        string
	Type        cty.Type // cty.DynamicPseudoType when no type is given
	Default     cty.Value
	HasDefault  bool
	Description string
	Sensitive   bool
	Validations []*Validation
	DeclRange   hcl.Range

	typeDefaults *typeexpr.Defaults // optional(...) attribute defaults of Type
}

// Validation is a validation { condition, error_message } block in a variable.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// Local is one attribute of a locals { } block.
type Local struct {
	Name string
	Expr hcl.Expression
}

// Output is an output "name" { value = ... } block.
type Output struct {
	Name        string
	Expr        hcl.Expression
	Description string
	Sensitive   bool
	DeclRange   hcl.Range
	// Refs and Vars are the steps, module calls and variables the value
	// reads (variables directly or through locals).
	Refs []StepRef
	Vars []string
}

// DockerBlock is the docker { } connection block.
type DockerBlock struct {
	Config    hcl.Body // host, tls_verify, cert_path, api_version
	DeclRange hcl.Range
}

// Registry is a registry "name" { address, username, password } block.
type Registry struct {
	Name      string
	Config    hcl.Body
	DeclRange hcl.Range
}

// Cluster is a cluster "name" { kubeconfig, context, namespace } block.
type Cluster struct {
	Name      string
	Config    hcl.Body
	DeclRange hcl.Range
}

// Step is one docker_*, k8s_* or exec block.
type Step struct {
	Type      string
	Name      string
	Schema    *StepSchema
	DeclRange hcl.Range // the block header, for diagnostics

	// Meta-arguments; a nil expression means the argument is absent.
	DependsOn       []hcl.Traversal
	When            hcl.Expression
	ForEach         hcl.Expression
	Timeout         hcl.Expression
	ContinueOnError hcl.Expression
	Retry           *Retry
	Approval        *Approval // nil: no approval needed

	Config hcl.Body // the rest of the block, decoded with Schema

	// Refs are the steps this one refers to, from its expressions (config,
	// when, for_each, timeout, ...) and depends_on, in source order; each
	// has the range of the referring expression. Only references to
	// declared steps are listed (others are diagnostics from Load).
	Refs []StepRef
	// Vars are the variables the step reads, directly or through locals:
	// in a module, what the caller passed for them is a dependency too.
	Vars []string

	// varRanges are where the step reads each of Vars.
	varRanges map[string]hcl.Range

	// attrs are the step's input attributes by name, collected by Load.
	attrs map[string]*hcl.Attribute
}

// Addr is "type.name".
func (s *Step) Addr() string { return s.Type + "." + s.Name }

// VarRange is where the step reads variable name (the var. reference, or
// the local. reference that reads it), or else its block header.
func (s *Step) VarRange(name string) hcl.Range {
	if r, ok := s.varRanges[name]; ok {
		return r
	}
	return s.DeclRange
}

// InputRange is the range of the expression of input attribute name, when
// the step sets it.
func (s *Step) InputRange(name string) (hcl.Range, bool) {
	a, ok := s.attrs[name]
	if !ok || a == nil {
		return hcl.Range{}, false
	}
	return a.Expr.Range(), true
}

// Retry is a retry { attempts, delay, backoff } block.
type Retry struct {
	Attempts  hcl.Expression // number, >= 1
	Delay     hcl.Expression // duration string
	Backoff   hcl.Expression // number multiplier, >= 1
	DeclRange hcl.Range
}

// StepRef is one reference from an expression to a step or a module call.
type StepRef struct {
	Addr      string    // "type.name" of the referenced step, or "module.NAME"
	Attr      string    // attribute (module output) referred to ("" for the whole step or depends_on)
	DependsOn bool      // from depends_on
	Range     hcl.Range // of the referring expression or traversal
}

// ModuleRef is the name of the module call r refers to, if it refers to one.
func (r StepRef) ModuleRef() (string, bool) {
	return strings.CutPrefix(r.Addr, rootModule+".")
}

// InstanceKey identifies one instance of a step: NoKey for a step without
// for_each, else the for_each key.
type InstanceKey struct {
	Key   string
	Valid bool
}

// NoKey is the key of a step without for_each.
var NoKey = InstanceKey{}

// StringKey returns the instance key k.
func StringKey(k string) InstanceKey { return InstanceKey{Key: k, Valid: true} }

// InstanceAddr is the address of one instance: type.name or type.name["key"].
func InstanceAddr(stepAddr string, k InstanceKey) string {
	if !k.Valid {
		return stepAddr
	}
	return stepAddr + "[" + strconv.Quote(k.Key) + "]"
}

// StepValues are the values of steps an expression may refer to: by type,
// then by name. A step without for_each is an object of its inputs and
// outputs; a step with for_each is an object keyed by instance key whose
// values are such objects. Values not known until apply are unknown.
type StepValues map[string]map[string]cty.Value

// Meta is the evaluated meta-arguments of one step instance.
type Meta struct {
	When            bool
	Timeout         time.Duration // 0: none
	ContinueOnError bool
	Retry           RetryPolicy
	Approval        *ApprovalPolicy // nil: no approval needed
	// Secrets are the sensitive strings evaluating the inputs produced,
	// intermediate results included (see SensitiveStrings): what a log of
	// the step must not show.
	Secrets []string
}

// RetryPolicy is an evaluated retry block. Attempts is at least 1.
type RetryPolicy struct {
	Attempts int
	Delay    time.Duration
	Backoff  float64 // multiplier applied to Delay after each attempt; 1 = constant
}

// GitInfo is the git.* object.
type GitInfo struct {
	Commit, ShortCommit, Branch, Tag string
	Dirty                            bool
}

// RunInfo is the run.* object.
type RunInfo struct {
	Number int
	ID     string
}
