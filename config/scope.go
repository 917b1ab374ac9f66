package config

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
)

// ScopeOptions are the values expressions can see besides step values.
type ScopeOptions struct {
	// Vars are the resolved variable values (see ResolveVariables). A
	// declared variable missing here is unknown, which is what `validate`
	// wants.
	Vars      map[string]cty.Value
	Workspace string
	Run       RunInfo
	Git       GitInfo
	// Getenv reads environment variables for env("NAME"); os.LookupEnv in
	// production. Nil means an empty environment.
	Getenv func(string) (string, bool)

	// validate is set by Check: env(), git, run and workspace are unknown,
	// and unknown meta-argument values are checked by type only.
	validate bool
}

// Scope is everything an expression can see except step values: variables,
// locals, built-in values, connection blocks and functions. It is safe for
// concurrent use.
type Scope struct {
	p     *Pipeline
	funcs map[string]function.Function
	// base holds the root variables shared by every evaluation: var, local,
	// git, run, workspace, path, registry, cluster and docker. Read-only.
	base       map[string]cty.Value
	registries map[string]cty.Value
	clusters   map[string]cty.Value
	docker     cty.Value

	validate bool
	// disabled is set in a module whose call (or a call around it) has a
	// when that is false: every step inside is skipped.
	disabled bool
	// chain and call are the module path of s ("" at the root) and the
	// module block that called it, for diagnostics (InModule).
	chain string
	call  hcl.Range

	mu      sync.Mutex
	forEach map[any]*forEachResult // by *Step or *ModuleCall
}

type forEachResult struct {
	keys   []string
	values map[string]cty.Value
	diags  hcl.Diagnostics
}

// NewScope evaluates locals and the docker, registry and cluster blocks.
func NewScope(p *Pipeline, opts ScopeOptions) (*Scope, hcl.Diagnostics) {
	s := &Scope{
		p:          p,
		funcs:      Functions(p.Dir),
		registries: map[string]cty.Value{},
		clusters:   map[string]cty.Value{},
		docker:     cty.NilVal,
		forEach:    map[any]*forEachResult{},
	}
	s.funcs[envFunctionName] = envFunc(opts.Getenv)
	s.validate = opts.validate
	cwd, err := os.Getwd()
	if err != nil {
		cwd = p.Dir
	}
	s.base = map[string]cty.Value{
		rootVar:       variablesObject(p, opts.Vars),
		rootGit:       gitObject(opts.Git),
		rootRun:       cty.ObjectVal(map[string]cty.Value{"number": cty.NumberIntVal(int64(opts.Run.Number)), "id": cty.StringVal(opts.Run.ID)}),
		rootWorkspace: cty.StringVal(opts.Workspace),
		rootPath:      pathObject(p, cwd),
	}
	if opts.validate {
		s.funcs[envFunctionName] = unknownEnvFunc
		s.base[rootGit] = cty.UnknownVal(s.base[rootGit].Type())
		s.base[rootRun] = cty.UnknownVal(s.base[rootRun].Type())
		s.base[rootWorkspace] = cty.UnknownVal(cty.String)
	}
	var diags hcl.Diagnostics
	locals, ldiags := s.evalLocals()
	diags = append(diags, ldiags...)
	s.base[rootLocal] = objectOrEmpty(locals)

	ctx := s.context(nil)
	if p.Docker != nil {
		v, d := evalBlock(p.Docker.Config, ctx, connTypes(dockerAttrs), nil)
		diags = append(diags, d...)
		s.docker = v
		s.base[rootDocker] = v
	}
	for name, r := range p.Registries {
		v, d := evalBlock(r.Config, ctx, connTypes(registryAttrs), map[string]cty.Value{"name": cty.StringVal(name)})
		diags = append(diags, d...)
		attrs := v.AsValueMap()
		attrs["password"] = attrs["password"].Mark(Sensitive)
		v = cty.ObjectVal(attrs)
		s.registries[name] = v
	}
	for name, c := range p.Clusters {
		v, d := evalBlock(c.Config, ctx, connTypes(clusterAttrs), map[string]cty.Value{"name": cty.StringVal(name)})
		diags = append(diags, d...)
		s.clusters[name] = v
	}
	s.base[rootRegistry] = objectOrEmpty(s.registries)
	s.base[rootCluster] = objectOrEmpty(s.clusters)
	return s, diags
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// variablesObject is the var object: given values, unknown for the rest.
func variablesObject(p *Pipeline, vals map[string]cty.Value) cty.Value {
	m := make(map[string]cty.Value, len(p.Variables))
	for name, v := range p.Variables {
		val, ok := vals[name]
		if !ok {
			val = cty.UnknownVal(v.Type.WithoutOptionalAttributesDeep())
		}
		if v.Sensitive && !val.HasMark(Sensitive) {
			val = val.Mark(Sensitive)
		}
		m[name] = val
	}
	return objectOrEmpty(m)
}

func gitObject(g GitInfo) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"commit":       cty.StringVal(g.Commit),
		"short_commit": cty.StringVal(g.ShortCommit),
		"branch":       cty.StringVal(g.Branch),
		"tag":          cty.StringVal(g.Tag),
		"dirty":        cty.BoolVal(g.Dirty),
	})
}

// evalBlock evaluates the attributes of a connection block to an object
// with exactly the given attributes (null when unset) plus extra.
func evalBlock(body hcl.Body, ctx *hcl.EvalContext, types map[string]cty.Type, extra map[string]cty.Value) (cty.Value, hcl.Diagnostics) {
	attrs, diags := body.JustAttributes()
	out := make(map[string]cty.Value, len(types)+len(extra))
	for name, ty := range types {
		out[name] = cty.NullVal(ty)
		a, ok := attrs[name]
		if !ok {
			continue
		}
		v, d := a.Expr.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			out[name] = cty.UnknownVal(ty)
			continue
		}
		cv, err := convert.Convert(v, ty)
		if err != nil {
			diags = append(diags, typeMismatch(name, ty, err, a.Expr.Range()))
			cv = cty.UnknownVal(ty)
		}
		out[name] = cv
	}
	for k, v := range extra {
		out[k] = v
	}
	return cty.ObjectVal(out), diags
}

// context builds an evaluation context from the base values plus extra
// root variables.
func (s *Scope) context(extra map[string]cty.Value) *hcl.EvalContext {
	vars := make(map[string]cty.Value, len(s.base)+len(extra))
	for k, v := range s.base {
		vars[k] = v
	}
	for k, v := range extra {
		vars[k] = v
	}
	return &hcl.EvalContext{Variables: vars, Functions: s.funcs}
}

// stepRoots turns step values into root variables: one object per step
// type, keyed by step name.
func stepRoots(steps StepValues, into map[string]cty.Value) map[string]cty.Value {
	if into == nil {
		into = make(map[string]cty.Value, len(steps))
	}
	for typ, byName := range steps {
		into[typ] = objectOrEmpty(byName)
	}
	return into
}

// referencedStepRoots builds root variables for only the steps that step
// refers to, so that evaluating a step costs the same however many steps
// the caller passes. A Step built by hand (without Refs from Load) sees
// every step given.
func referencedStepRoots(step *Step, steps StepValues) map[string]cty.Value {
	roots := make(map[string]cty.Value, 4)
	if step.attrs == nil {
		return stepRoots(steps, roots)
	}
	byType := map[string]map[string]cty.Value{}
	for _, r := range step.Refs {
		if r.DependsOn {
			continue
		}
		typ, name, _ := strings.Cut(r.Addr, ".")
		v, ok := steps[typ][name]
		if !ok {
			continue
		}
		if byType[typ] == nil {
			byType[typ] = map[string]cty.Value{}
		}
		byType[typ][name] = v
	}
	for typ, byName := range byType {
		roots[typ] = cty.ObjectVal(byName)
	}
	return roots
}

// EvalContext returns the context for evaluating any expression of the
// pipeline with the given step values.
func (s *Scope) EvalContext(steps StepValues) *hcl.EvalContext {
	return s.context(stepRoots(steps, nil))
}

// Registry returns the evaluated registry block called name ({name,
// address, username, password}, the password marked Sensitive), or
// cty.NilVal when there is none.
func (s *Scope) Registry(name string) cty.Value {
	if v, ok := s.registries[name]; ok {
		return v
	}
	return cty.NilVal
}

// Cluster returns the evaluated cluster block called name ({name,
// kubeconfig, context, namespace}, null when unset), or cty.NilVal.
func (s *Scope) Cluster(name string) cty.Value {
	if v, ok := s.clusters[name]; ok {
		return v
	}
	return cty.NilVal
}

// Docker returns the evaluated docker block ({host, tls_verify, cert_path,
// api_version}), or cty.NilVal when there is no docker block.
func (s *Scope) Docker() cty.Value { return s.docker }

// ForEach evaluates the for_each of step: its sorted instance keys and the
// each.value of each key. Keys and diagnostics are nil for a step without
// for_each. Results are cached.
func (s *Scope) ForEach(step *Step) ([]string, map[string]cty.Value, hcl.Diagnostics) {
	return s.evalForEach(step, step.ForEach)
}

// evalForEach evaluates the for_each expr of the step or module call
// owner, caching the result.
func (s *Scope) evalForEach(owner any, expr hcl.Expression) ([]string, map[string]cty.Value, hcl.Diagnostics) {
	if expr == nil {
		return nil, nil, nil
	}
	s.mu.Lock()
	r, ok := s.forEach[owner]
	s.mu.Unlock()
	if ok {
		return r.keys, r.values, r.diags
	}
	r = &forEachResult{}
	v, diags := expr.Value(s.context(nil))
	r.diags = diags
	if !diags.HasErrors() {
		r.keys, r.values, r.diags = forEachInstances(v, expr.Range())
		if r.keys == nil && !r.diags.HasErrors() {
			r.keys = []string{}
		}
	}
	s.mu.Lock()
	s.forEach[owner] = r
	s.mu.Unlock()
	return r.keys, r.values, r.diags
}

// EvalStep evaluates the inputs and meta-arguments of one instance of step.
// steps holds the values of the steps it refers to (more is harmless: only
// the referenced ones are used). The inputs object has every attribute of
// step.Schema.InputType(): unset ones are null or their schema default.
// Its type conforms to InputType() without optional-attribute markers, with
// attributes of type cty.DynamicPseudoType (cluster, registry, manifest)
// holding the type of their value. Values may be unknown and may carry the
// Sensitive mark, deep inside collections.
func (s *Scope) EvalStep(step *Step, key InstanceKey, steps StepValues) (cty.Value, Meta, hcl.Diagnostics) {
	ctx, diags := s.stepContext(step, key, steps)
	inputs, d := evalInputs(step, ctx)
	diags = append(diags, d...)
	meta, d := evalMeta(step, ctx, s.validate, s.p.Schemas)
	diags = append(diags, d...)
	meta.Secrets = sensitiveInputStrings(step, inputs, ctx)
	return inputs, meta, diags
}

// sensitiveInputStrings are the sensitive strings that evaluating the
// inputs produced, intermediate results included (see SensitiveStrings).
func sensitiveInputStrings(step *Step, inputs cty.Value, ctx *hcl.EvalContext) []string {
	if !HasSensitive(inputs) {
		return nil
	}
	var out []string
	attrs, _ := inputAttrs(step)
	for _, name := range sortedKeys(attrs) {
		if inputs.Type().HasAttribute(name) && HasSensitive(inputs.GetAttr(name)) {
			out = append(out, SensitiveStrings(attrs[name].Expr, ctx)...)
		}
	}
	return out
}

// stepContext is the evaluation context of one instance of step.
func (s *Scope) stepContext(step *Step, key InstanceKey, steps StepValues) (*hcl.EvalContext, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	extra := referencedStepRoots(step, steps)
	switch {
	case key.Valid:
		each, d := s.eachObject(step, key)
		diags = append(diags, d...)
		extra[rootEach] = each
	case step.ForEach != nil:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing instance key",
			Detail:   fmt.Sprintf("%s has for_each, so each instance is evaluated with its key (from ForEach).", step.Addr()),
			Subject:  step.ForEach.Range().Ptr(),
		})
		extra[rootEach] = cty.DynamicVal
	}
	return s.context(extra), diags
}

// eachObject is the each object of instance key of step.
func (s *Scope) eachObject(step *Step, key InstanceKey) (cty.Value, hcl.Diagnostics) {
	if step.ForEach == nil {
		return cty.DynamicVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unexpected instance key",
			Detail:   fmt.Sprintf("%s has no for_each, so it has no instance %q; evaluate it without a key.", step.Addr(), key.Key),
			Subject:  step.DeclRange.Ptr(),
		}}
	}
	_, values, diags := s.ForEach(step)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	val, ok := values[key.Key]
	if !ok {
		return cty.DynamicVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid instance key",
			Detail:   fmt.Sprintf("The for_each of %s has no key %q; use one of its keys.", step.Addr(), key.Key),
			Subject:  step.ForEach.Range().Ptr(),
		}}
	}
	return cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(key.Key), "value": val}), nil
}

// inputAttrs returns the step's input attributes; Load fills them, and a
// Step built by hand is decoded from its Config.
func inputAttrs(step *Step) (map[string]*hcl.Attribute, hcl.Diagnostics) {
	if step.attrs != nil || step.Config == nil {
		return step.attrs, nil
	}
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: metaRetry}, {Type: metaApproval}}}
	for _, in := range step.Schema.Inputs {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: in.Name})
	}
	for _, n := range metaAttrNames {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: n})
	}
	content, _, diags := step.Config.PartialContent(schema)
	return content.Attributes, diags
}

// evalInputs evaluates every input of step into an object of the schema's
// input type.
func evalInputs(step *Step, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	attrs, diags := inputAttrs(step)
	out := make(map[string]cty.Value, len(step.Schema.Inputs))
	for _, in := range step.Schema.Inputs {
		v, d := evalInput(step, in, attrs[in.Name], ctx)
		diags = append(diags, d...)
		out[in.Name] = v
	}
	return cty.ObjectVal(out), diags
}

// evalInput evaluates one input; absent or null inputs take the schema
// default, or null.
func evalInput(step *Step, in AttrSchema, a *hcl.Attribute, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	// Values must not carry the optional-attribute markers of type
	// constraints.
	valType := in.Type.WithoutOptionalAttributesDeep()
	missing := func(rng hcl.Range) (cty.Value, hcl.Diagnostics) {
		if in.Default != cty.NilVal {
			return in.Default, nil
		}
		if in.Required {
			return cty.UnknownVal(valType), hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Missing required argument",
				Detail:   fmt.Sprintf("The argument %q is required in a %s block; give it a non-null value in %s.", in.Name, step.Type, step.Addr()),
				Subject:  rng.Ptr(),
			}}
		}
		return cty.NullVal(valType), nil
	}
	if a == nil {
		return missing(step.DeclRange)
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.UnknownVal(valType), diags
	}
	if v.IsKnown() && v.IsNull() {
		mv, d := missing(a.Expr.Range())
		return mv, append(diags, d...)
	}
	cv, err := convert.Convert(v, in.Type)
	if err != nil {
		return cty.UnknownVal(valType), append(diags, typeMismatch(in.Name, in.Type, err, a.Expr.Range()))
	}
	if d := infiniteDiag("argument "+in.Name, cv, a.Expr.Range()); d != nil {
		return cty.UnknownVal(valType), append(diags, d)
	}
	if in.Sensitive && !cv.IsNull() {
		cv = cv.Mark(Sensitive)
	}
	return cv, diags
}

// infiniteDiag reports an infinite number inside v (1/0 evaluates to one):
// no step or output can use it, and JSON cannot hold it.
func infiniteDiag(what string, v cty.Value, rng hcl.Range) *hcl.Diagnostic {
	found := false
	v, _ = v.UnmarkDeep()
	_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if found {
			return false, nil
		}
		if v.Type() == cty.Number && v.IsKnown() && !v.IsNull() && v.AsBigFloat().IsInf() {
			found = true
		}
		return !found, nil
	})
	if !found {
		return nil
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Infinite number",
		Detail:   fmt.Sprintf("The %s evaluates to an infinite number (a division by zero?); use a finite value.", what),
		Subject:  rng.Ptr(),
	}
}

// evalMeta evaluates the meta-arguments of a step instance; validate
// checks unknown values by type only (see Check).
func evalMeta(step *Step, ctx *hcl.EvalContext, validate bool, schemas Schemas) (Meta, hcl.Diagnostics) {
	m := Meta{When: true, Retry: RetryPolicy{Attempts: 1, Backoff: 1}}
	var diags hcl.Diagnostics
	evalAs := func(expr hcl.Expression, name string, want cty.Type, check func(cty.Value, hcl.Range) hcl.Diagnostics) {
		if expr == nil {
			return
		}
		v, d := expr.Value(ctx)
		diags = append(diags, d...)
		switch {
		case d.HasErrors():
		case validate && !v.IsWhollyKnown():
			diags = append(diags, unknownMeta(v, want, name, expr, schemas)...)
		default:
			for _, cd := range check(v, expr.Range()) {
				if cd.Expression == nil {
					cd.Expression, cd.EvalContext = expr, ctx
				}
				diags = append(diags, cd)
			}
		}
	}
	evalAs(step.When, metaWhen, cty.Bool, func(v cty.Value, r hcl.Range) (d hcl.Diagnostics) {
		m.When, d = boolMeta(v, metaWhen, r)
		return d
	})
	evalAs(step.Timeout, metaTimeout, cty.DynamicPseudoType, func(v cty.Value, r hcl.Range) (d hcl.Diagnostics) {
		m.Timeout, d = durationMeta(v, metaTimeout, r)
		return d
	})
	evalAs(step.ContinueOnError, metaContinueOnError, cty.Bool, func(v cty.Value, r hcl.Range) (d hcl.Diagnostics) {
		m.ContinueOnError, d = boolMeta(v, metaContinueOnError, r)
		return d
	})
	if r := step.Retry; r != nil {
		evalAs(r.Attempts, "attempts", cty.Number, func(v cty.Value, rng hcl.Range) (d hcl.Diagnostics) {
			m.Retry.Attempts, d = attemptsMeta(v, rng)
			return d
		})
		evalAs(r.Delay, "delay", cty.DynamicPseudoType, func(v cty.Value, rng hcl.Range) (d hcl.Diagnostics) {
			m.Retry.Delay, d = durationMeta(v, "delay", rng)
			return d
		})
		evalAs(r.Backoff, "backoff", cty.Number, func(v cty.Value, rng hcl.Range) (d hcl.Diagnostics) {
			m.Retry.Backoff, d = backoffMeta(v, rng)
			return d
		})
	}
	approval, d := evalApproval(step.Approval, ctx)
	m.Approval = approval
	diags = append(diags, d...)
	if diags.HasErrors() {
		// Keep the policy usable even when a value was wrong.
		if m.Retry.Attempts < 1 {
			m.Retry.Attempts = 1
		}
		if m.Retry.Backoff < 1 {
			m.Retry.Backoff = 1
		}
	}
	return m, diags
}

// EvalOutputs evaluates the output blocks with the given step values;
// values of sensitive outputs are marked Sensitive.
func (s *Scope) EvalOutputs(steps StepValues) (map[string]cty.Value, hcl.Diagnostics) {
	ctx := s.EvalContext(steps)
	out := make(map[string]cty.Value, len(s.p.Outputs))
	var diags hcl.Diagnostics
	for _, name := range sortedKeys(s.p.Outputs) {
		o := s.p.Outputs[name]
		if o.Expr == nil {
			continue
		}
		v, d := o.Expr.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			v = cty.DynamicVal
		} else if inf := infiniteDiag("output "+name, v, o.Expr.Range()); inf != nil {
			diags = append(diags, inf)
			v = cty.DynamicVal
		}
		if o.Sensitive {
			v = v.Mark(Sensitive)
		}
		out[name] = v
	}
	return out, diags
}
