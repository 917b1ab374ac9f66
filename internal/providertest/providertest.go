// Package providertest holds a programmable fake step type for engine tests:
// each instance is told through its inputs to fail a number of times, sleep,
// return partial outputs with its error, refuse deletion or panic. It serves
// two step types with one schema: test_object (declarative) and test_run
// (run-to-completion).
package providertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers"
	"github.com/zclconf/go-cty/cty"
)

// The step types the fake serves.
const (
	ObjectType = "test_object"
	RunType    = "test_run"
)

// Schemas returns the schemas of both step types, to add to the set a test
// loads its pipeline with (maps.Copy(schemas, providertest.Schemas())).
func Schemas() config.Schemas {
	return config.Schemas{
		ObjectType: schema(ObjectType, config.Declarative),
		RunType:    schema(RunType, config.RunToCompletion),
	}
}

func schema(t string, kind config.StepKind) *config.StepSchema {
	in := func(name string, ty cty.Type, desc string) config.AttrSchema {
		return config.AttrSchema{Name: name, Type: ty, Description: desc}
	}
	key := in("key", cty.String, "Identity of the object; a change replaces it (test_object).")
	key.ForceNew = true
	return &config.StepSchema{
		Type: t, Kind: kind, Description: "A programmable fake step for engine tests.",
		ResultIDs: []config.ResultID{{Output: "exit_code", Prefix: "exit="}},
		Inputs: []config.AttrSchema{
			key,
			in("value", cty.String, "Any value; a change updates the object in place."),
			in("fail_times", cty.Number, "Apply fails this many times (counted per address over the fake's life), then succeeds."),
			in("message", cty.String, "The error message of a failing call."),
			in("sleep", cty.String, "Apply sleeps this long (a Go duration) before it returns, or until its context ends."),
			in("partial", cty.Bool, "A failing Apply also returns outputs, with exit_code = 3."),
			in("fail_delete", cty.Bool, "Delete of the object applied with this set fails."),
			in("panic", cty.String, "The method that panics: Fingerprint, Validate, Read, Apply or Delete (Delete looks at the inputs the object was applied with, Read at both)."),
		},
		Outputs: []config.AttrSchema{
			in("id", cty.String, "addr/key of what was applied."),
			in("value", cty.String, "The value input as applied."),
			in("attempt", cty.Number, "Which call of Apply for this address produced the outputs."),
			in("exit_code", cty.Number, "0 on success, 3 with partial outputs."),
		},
	}
}

// Call is one provider call the fake received.
type Call struct {
	Addr   string
	Method string // Apply, Delete, Read
	Action providers.Action
}

// Fake implements providers.Step and providers.Validator. Its methods are
// safe for concurrent use.
type Fake struct {
	// OnApply, when set, is called as each Apply starts (before any sleep),
	// so a test can act while steps are running.
	OnApply func(addr string)

	mu       sync.Mutex
	attempts map[string]int
	calls    []Call
	objects  map[string]bool // declarative objects that exist, by addr
}

// New returns a fake with no objects.
func New() *Fake { return &Fake{attempts: map[string]int{}, objects: map[string]bool{}} }

// Register adds both step types to r.
func (f *Fake) Register(r providers.Registry) {
	r[ObjectType] = f
	r[RunType] = f
}

// Calls returns the Apply and Delete calls so far, in the order they started.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Exists reports whether the declarative object at addr exists.
func (f *Fake) Exists(addr string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.objects[addr]
}

func (f *Fake) record(c Call) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	if c.Method == "Apply" {
		f.attempts[c.Addr]++
		return f.attempts[c.Addr]
	}
	return 0
}

// Fingerprint implements providers.Step.
func (f *Fake) Fingerprint(_ context.Context, req providers.FingerprintRequest) (map[string]string, error) {
	panicIf(req.Inputs, "Fingerprint")
	return nil, nil
}

// Validate implements providers.Validator.
func (f *Fake) Validate(inputs cty.Value) error {
	panicIf(inputs, "Validate")
	if s := str(inputs, "sleep"); s != "" {
		if _, err := time.ParseDuration(s); err != nil {
			return &providers.InputError{Input: "sleep", Err: err}
		}
	}
	return nil
}

// Read implements providers.Step.
func (f *Fake) Read(_ context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	panicIf(req.Desired, "Read")
	panicIf(req.Prior.Inputs, "Read")
	if !f.Exists(appliedAt(req.Prior, req.Addr)) {
		return providers.ReadResponse{Gone: true}, nil
	}
	return providers.ReadResponse{Outputs: req.Prior.Outputs}, nil
}

// Apply implements providers.Step.
func (f *Fake) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	attempt := f.record(Call{Addr: req.Addr, Method: "Apply", Action: req.Action})
	if f.OnApply != nil {
		f.OnApply(req.Addr)
	}
	in := req.Inputs
	panicIf(in, "Apply")
	fmt.Fprintf(req.Logs.Stdout, "attempt %d\n", attempt)
	if d, _ := time.ParseDuration(str(in, "sleep")); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return providers.ApplyResponse{}, ctx.Err()
		case <-t.C:
		}
	}
	out := func(code int64) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{
			"id":        cty.StringVal(req.Addr + "/" + str(in, "key")),
			"value":     cty.StringVal(str(in, "value")),
			"attempt":   cty.NumberIntVal(int64(attempt)),
			"exit_code": cty.NumberIntVal(code),
		})
	}
	if n := num(in, "fail_times"); int64(attempt) <= n {
		err := errors.New(message(in, fmt.Sprintf("failed on attempt %d", attempt)))
		if boolean(in, "partial") {
			return providers.ApplyResponse{Outputs: out(3)}, err
		}
		return providers.ApplyResponse{}, err
	}
	f.mu.Lock()
	f.objects[req.Addr] = true
	f.mu.Unlock()
	return providers.ApplyResponse{Outputs: out(0)}, nil
}

// Delete implements providers.Step. What it does is set by the inputs the
// object was applied with.
func (f *Fake) Delete(_ context.Context, req providers.DeleteRequest) error {
	f.record(Call{Addr: req.Addr, Method: "Delete"})
	in := req.Prior.Inputs
	panicIf(in, "Delete")
	if boolean(in, "fail_delete") {
		return errors.New(message(in, "the object refuses to be deleted"))
	}
	f.mu.Lock()
	delete(f.objects, appliedAt(req.Prior, req.Addr))
	f.mu.Unlock()
	return nil
}

// appliedAt is the address the object of prior was applied at, from the id
// it recorded: like a real provider, the fake finds an object by what its
// apply recorded, not by the step's address (which a moved block changes).
func appliedAt(prior providers.Prior, addr string) string {
	if id := str(prior.Outputs, "id"); id != "" {
		if i := strings.LastIndex(id, "/"); i >= 0 {
			return id[:i]
		}
	}
	return addr
}

func panicIf(in cty.Value, method string) {
	if str(in, "panic") == method {
		panic(fmt.Sprintf("providertest: %s was told to panic", method))
	}
}

func message(in cty.Value, def string) string {
	if m := str(in, "message"); m != "" {
		return m
	}
	return def
}

// attr returns in's attribute name, or null when in is not a known object
// with it (a prior without inputs, an unknown value at plan time).
func attr(in cty.Value, name string) cty.Value {
	if in == cty.NilVal || in.IsNull() || !in.IsKnown() || !in.Type().IsObjectType() || !in.Type().HasAttribute(name) {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	v := in.GetAttr(name)
	if !v.IsKnown() {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return v
}

func str(in cty.Value, name string) string {
	if v := attr(in, name); !v.IsNull() && v.Type() == cty.String {
		return v.AsString()
	}
	return ""
}

func num(in cty.Value, name string) int64 {
	if v := attr(in, name); !v.IsNull() && v.Type() == cty.Number {
		n, _ := v.AsBigFloat().Int64()
		return n
	}
	return 0
}

func boolean(in cty.Value, name string) bool {
	v := attr(in, name)
	return !v.IsNull() && v.Type() == cty.Bool && v.True()
}
