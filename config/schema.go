package config

import (
	"sort"

	"github.com/zclconf/go-cty/cty"
)

// StepKind says how a step type behaves across runs.
type StepKind int

const (
	// RunToCompletion steps (exec, docker_run, k8s_exec, ...) run when their
	// inputs or anything upstream changed, or when they failed last time.
	RunToCompletion StepKind = iota
	// Declarative steps (docker_build, k8s_deploy, ...) converge an object to
	// the configured inputs: create, update in place, replace or delete.
	Declarative
)

func (k StepKind) String() string {
	if k == Declarative {
		return "declarative"
	}
	return "run-to-completion"
}

// AttrSchema describes one attribute of a step: an input the user sets or an
// output the step produces.
type AttrSchema struct {
	Name        string
	Type        cty.Type
	Required    bool
	Sensitive   bool
	ForceNew    bool      // for declarative steps: a change replaces the object
	Default     cty.Value // cty.NilVal when there is none
	Description string
	// Example is the value the reference page's minimal example sets
	// (cty.NilVal: the example leaves the input out, or shows a
	// placeholder of its type when it is required).
	Example cty.Value
	// DefaultCluster marks an input that names a cluster block: left unset,
	// it takes the pipeline's cluster block when there is exactly one.
	DefaultCluster bool
}

// StepSchema is the contract of one step type: what it accepts and
// produces, and the words the views use for it. Each provider package
// declares the schemas of its step types next to their implementation.
type StepSchema struct {
	Type        string
	Kind        StepKind
	Description string // Markdown, for the reference pages
	Inputs      []AttrSchema
	Outputs     []AttrSchema
	// DeclarativeWhen names a bool input of a run-to-completion type that,
	// when true, makes an instance a declarative resource (docker_run's
	// detach); its implementation decides through providers.Declarativer.
	// Empty when the kind never changes.
	DeclarativeWhen string
	// ResultIDs are the outputs the progress views show as what a step
	// produced ("[id=sha256:1a2b...]"), tried in order: the first one set
	// wins.
	ResultIDs []ResultID
	// Verbs word the progress lines ("Building...", "Built after 3s");
	// zero words mean the generic create, update and run ones.
	Verbs Verbs
}

// ResultID is an output shown as a step's result: a string is shortened
// (sha256:1a2b3c4d5e6f, 12 characters of a container id), a number is
// shown whole; Prefix comes before the value ("exit=").
type ResultID struct {
	Output string
	Prefix string
}

// Verbs are what progress lines say while a step works and when it is done.
type Verbs struct {
	Doing string // "Building"
	Done  string // "Built"
}

// Schemas is a set of step types by name. It is assembled where the
// implementations are (providers/builtin) and passed to LoadWith; there is
// no global table.
type Schemas map[string]*StepSchema

// Lookup returns the schema of step type t, or nil.
func (s Schemas) Lookup(t string) *StepSchema { return s[t] }

// Names lists the step types in a stable order.
func (s Schemas) Names() []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Input returns the input attribute called name, or nil.
func (s *StepSchema) Input(name string) *AttrSchema {
	for i := range s.Inputs {
		if s.Inputs[i].Name == name {
			return &s.Inputs[i]
		}
	}
	return nil
}

// Output returns the output attribute called name, or nil.
func (s *StepSchema) Output(name string) *AttrSchema {
	for i := range s.Outputs {
		if s.Outputs[i].Name == name {
			return &s.Outputs[i]
		}
	}
	return nil
}

// InputType is the object type of the evaluated inputs.
func (s *StepSchema) InputType() cty.Type {
	m := make(map[string]cty.Type, len(s.Inputs))
	for _, a := range s.Inputs {
		m[a.Name] = a.Type
	}
	return cty.Object(m)
}

// OutputType is the object type of the outputs a provider returns.
func (s *StepSchema) OutputType() cty.Type {
	m := make(map[string]cty.Type, len(s.Outputs))
	for _, a := range s.Outputs {
		m[a.Name] = a.Type
	}
	return cty.Object(m)
}

// AttributeNames lists every name a reference may use: inputs and outputs.
func (s *StepSchema) AttributeNames() []string {
	seen := map[string]bool{}
	var names []string
	for _, a := range append(append([]AttrSchema(nil), s.Inputs...), s.Outputs...) {
		if !seen[a.Name] {
			seen[a.Name] = true
			names = append(names, a.Name)
		}
	}
	sort.Strings(names)
	return names
}

// Attr returns an optional attribute without a default; the As and With
// methods refine it: config.Attr("image", cty.String, "...").AsRequired().
func Attr(name string, t cty.Type, desc string) AttrSchema {
	return AttrSchema{Name: name, Type: t, Description: desc}
}

// AsRequired returns a with Required set.
func (a AttrSchema) AsRequired() AttrSchema { a.Required = true; return a }

// AsForceNew returns a with ForceNew set: a change replaces the object.
func (a AttrSchema) AsForceNew() AttrSchema { a.ForceNew = true; return a }

// AsSensitive returns a with Sensitive set: its value is always handled as
// a secret, whatever it was computed from.
func (a AttrSchema) AsSensitive() AttrSchema { a.Sensitive = true; return a }

// WithExample returns a with the example value v.
func (a AttrSchema) WithExample(v cty.Value) AttrSchema { a.Example = v; return a }

// WithDefault returns a with the default value v.
func (a AttrSchema) WithDefault(v cty.Value) AttrSchema { a.Default = v; return a }
