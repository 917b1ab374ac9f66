package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/graph"
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/state"
	"github.com/google/uuid"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Engine plans and applies pipelines of one directory and workspace.
type Engine struct {
	Dir       string // absolute pipeline directory
	Workspace string
	Store     state.Store
	Providers providers.Registry
	Observer  Observer                    // may be nil
	Getenv    func(string) (string, bool) // nil: os.LookupEnv
	Now       func() time.Time            // nil: time.Now
	Git       *config.GitInfo             // nil: read from the directory
	User      string                      // for history; "" : $USER
	NewID     func() string               // run ids; nil: random UUIDs
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// newRunID is the run.id of a new plan.
func (e *Engine) newRunID() string {
	if e.NewID != nil {
		return e.NewID()
	}
	return uuid.NewString()
}

func (e *Engine) getenv() func(string) (string, bool) {
	if e.Getenv != nil {
		return e.Getenv
	}
	return os.LookupEnv
}

func (e *Engine) emit(ev Event) {
	if e.Observer != nil {
		if ev.Time.IsZero() {
			ev.Time = e.now()
		}
		e.Observer(ev)
	}
}

// stepInfo is one step block and its instances.
type stepInfo struct {
	step      *config.Step
	mod       *graph.ModuleInstance // the module instance it is in (the root for root steps)
	addr      string                // [module path.]type.name
	deps      []*stepInfo           // the steps it depends on (graph.StepDeps)
	forEach   bool
	instances []*inst
	join      int // node that all instances feed (the instance itself without for_each)

	aggMu sync.Mutex
	agg   cty.Value // cached once every instance has a value

	upstreamOnce sync.Once
	upstream     []string // see changedDeps

	// neverRan is set when an instance is skipped by `when` without a
	// record: it has no outputs to refer to (see skippedRefs).
	neverRan atomic.Bool
}

// value is what a reference to the whole step sees; cty.NilVal while an
// instance has no value yet (it was not visited).
func (si *stepInfo) value() cty.Value {
	if !si.forEach {
		return si.instances[0].val()
	}
	si.aggMu.Lock()
	defer si.aggMu.Unlock()
	if si.agg != cty.NilVal {
		return si.agg
	}
	m := make(map[string]cty.Value, len(si.instances))
	for _, in := range si.instances {
		v := in.val()
		if v == cty.NilVal {
			return cty.NilVal
		}
		m[in.key.Key] = v
	}
	si.agg = cty.ObjectVal(m)
	return si.agg
}

// inst is one node of the instance graph: a step instance, an orphan (in
// state, no longer configured), or a join node standing for all instances
// of a for_each step.
type inst struct {
	node   int
	addr   string
	info   *stepInfo // nil for orphans and joins
	key    config.InstanceKey
	prior  *state.Instance
	orphan bool
	isJoin bool
	deps   []string // addresses of direct dependencies (instances)

	// set while planning or applying; each written only by its own visit
	change  *Change
	inputs  cty.Value
	meta    config.Meta
	refs    map[string]map[string]cty.Value // what each attribute read (config.Scope.InputReferences)
	binding *Binding                        // what the plan was made from
	// verifiedFiles are the file hashes read while verifying a plan, kept
	// for the apply when nothing upstream can change them first.
	verifiedFiles map[string]string
	filesKnown    bool
	// verified holds the inputs evaluated while verifying the plan.
	verified *verifiedInputs

	// valueFn computes what references to this instance see; it runs at
	// most once, and only if something refers to the instance by value.
	// A module's scope may ask for the value of an instance not visited
	// yet (for an argument the asking step does not read): it is NilVal,
	// and not cached.
	valueMu   sync.Mutex
	valueFn   func() cty.Value
	valueOnce sync.Once
	value     cty.Value
}

// setValue records how to compute the instance's value.
func (in *inst) setValue(f func() cty.Value) {
	in.valueMu.Lock()
	in.valueFn = f
	in.valueMu.Unlock()
}

// val is the value other steps see; cty.NilVal before the instance was visited.
func (in *inst) val() cty.Value {
	in.valueMu.Lock()
	f := in.valueFn
	in.valueMu.Unlock()
	if f == nil {
		return cty.NilVal
	}
	in.valueOnce.Do(func() { in.value = f() })
	return in.value
}

func (in *inst) typ() string {
	if in.info != nil {
		return in.info.step.Type
	}
	if in.prior != nil {
		return in.prior.Type
	}
	return ""
}

// world is a pipeline bound to a state, variables and a run, with its
// instance graph built.
type world struct {
	e       *Engine
	key     []byte // hash key of sensitive values (state.HashKeyer)
	p       *config.Pipeline
	st      *state.State
	scope   *config.Scope
	g       *graph.Graph
	nodes   []*inst
	steps   map[string]*stepInfo // by step address
	byAddr  map[string]*inst
	tree    *graph.ModuleInstance                   // module instances (for_each expanded)
	mscopes map[*graph.ModuleInstance]*config.Scope // their scopes with step values unknown
	red     *redactor
	run     config.RunInfo
	env     providers.Env
	refresh bool
	destroy bool
	replace map[string]bool
	targets map[string]bool // nil: everything
}

type buildOptions struct {
	key     []byte // the workspace's hash key; nil for a store without one
	vars    map[string]cty.Value
	run     config.RunInfo
	refresh bool
	destroy bool
	targets []string
	replace []string
}

// buildWorld evaluates for_each and builds the instance graph, in phases:
// scope, step graph (cycles), provider environment, known secrets, module
// instances, step instances, reference edges, orphans and targets.
func (e *Engine) buildWorld(p *config.Pipeline, st *state.State, o buildOptions) (*world, hcl.Diagnostics) {
	scope, diags := e.newScope(p, o)
	if diags.HasErrors() {
		return nil, diags
	}
	if _, gdiags := graph.Build(p); gdiags.HasErrors() {
		return nil, append(diags, gdiags...)
	}
	w := &world{
		e: e, p: p, st: st, scope: scope,
		steps:   map[string]*stepInfo{},
		byAddr:  map[string]*inst{},
		red:     &redactor{},
		key:     o.key,
		run:     o.run,
		refresh: o.refresh,
		destroy: o.destroy,
		replace: map[string]bool{},
		g:       graph.New(len(p.StepOrder) + len(st.Instances)),
	}
	for _, r := range o.replace {
		w.replace[r] = true
	}
	w.providerEnv()
	w.knownSecrets(o.vars)
	if !o.destroy {
		diags = append(diags, w.expandModules()...)
		if !diags.HasErrors() {
			diags = append(diags, w.addInstances()...)
		}
		if diags.HasErrors() {
			return nil, diags
		}
		w.addReferenceEdges()
	}
	w.addOrphans()
	if len(o.targets) > 0 {
		if err := w.selectTargets(o.targets); err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -target", Detail: err.Error()})
			return nil, diags
		}
	}
	return w, diags
}

// newScope is the root scope of a run.
func (e *Engine) newScope(p *config.Pipeline, o buildOptions) (*config.Scope, hcl.Diagnostics) {
	git := e.Git
	if git == nil {
		g := config.ReadGit(e.Dir)
		git = &g
	}
	return config.NewScope(p, config.ScopeOptions{
		Vars: o.vars, Workspace: e.Workspace, Run: o.run, Git: *git, Getenv: e.getenv(),
	})
}

// providerEnv is what every provider sees: directories, the run, and the
// evaluated connection blocks.
func (w *world) providerEnv() {
	e, scope := w.e, w.scope
	w.env = providers.Env{
		Dir: e.Dir, Workspace: e.Workspace, RunNumber: w.run.Number,
		LogDir:   LogDir(e.Dir, e.Workspace, w.run.Number),
		Docker:   scope.Docker(),
		Clusters: map[string]cty.Value{}, Registries: map[string]cty.Value{},
	}
	for name := range w.p.Clusters {
		w.env.Clusters[name] = scope.Cluster(name)
	}
	for name := range w.p.Registries {
		w.env.Registries[name] = scope.Registry(name)
	}
}

// knownSecrets gives the redactor the secrets known up front: sensitive
// variables and registry passwords.
func (w *world) knownSecrets(vars map[string]cty.Value) {
	var secrets []string
	for _, v := range vars {
		if config.HasSensitive(v) {
			collectStrings(v, &secrets)
		}
	}
	for name := range w.p.Registries {
		collectSensitive(w.scope.Registry(name), &secrets)
	}
	w.red.add(secrets...)
}

// add adds a node for in to the instance graph.
func (w *world) add(in *inst) {
	in.node = w.g.AddNode(in.addr)
	w.nodes = append(w.nodes, in)
	if !in.isJoin {
		w.byAddr[in.addr] = in
	}
}

// expandModules builds the module tree, evaluating the for_each of module
// calls, and the scope of every module instance with the values of steps
// unknown (for for_each keys and load-time diagnostics).
func (w *world) expandModules() hcl.Diagnostics {
	var diags hcl.Diagnostics
	w.mscopes = map[*graph.ModuleInstance]*config.Scope{}
	var scopeOf func(m *graph.ModuleInstance) *config.Scope
	scopeOf = func(m *graph.ModuleInstance) *config.Scope {
		if s, ok := w.mscopes[m]; ok {
			return s
		}
		if m.Call == nil {
			w.mscopes[m] = w.scope
			return w.scope
		}
		s, d := scopeOf(m.Parent).Module(m.Call, m.Key, nil)
		diags = append(diags, d...)
		w.mscopes[m] = s
		return s
	}
	w.tree = graph.ModuleTree(w.p, func(parent *graph.ModuleInstance, call *config.ModuleCall) []string {
		keys, _, d := scopeOf(parent).ModuleForEach(call)
		diags = append(diags, d...)
		return keys
	})
	w.tree.Walk(func(m *graph.ModuleInstance) { scopeOf(m) })
	return diags
}

// addInstances adds the instances of every step of every module instance,
// evaluating for_each; a for_each step also gets a join node that stands
// for all its instances.
func (w *world) addInstances() hcl.Diagnostics {
	var diags hcl.Diagnostics
	w.tree.Walk(func(m *graph.ModuleInstance) {
		for _, s := range m.Body.StepOrder {
			addr := m.StepAddr(s)
			si := &stepInfo{step: s, mod: m, addr: addr, forEach: s.ForEach != nil}
			w.steps[addr] = si
			if !si.forEach {
				in := &inst{addr: addr, info: si, prior: w.st.Instances[addr]}
				w.add(in)
				si.instances = []*inst{in}
				si.join = in.node
				continue
			}
			keys, _, fdiags := w.mscopes[m].ForEach(s)
			diags = append(diags, fdiags...)
			if fdiags.HasErrors() {
				continue
			}
			for _, k := range keys {
				key := config.StringKey(k)
				iaddr := config.InstanceAddr(addr, key)
				in := &inst{addr: iaddr, info: si, key: key, prior: w.st.Instances[iaddr]}
				w.add(in)
				si.instances = append(si.instances, in)
			}
			join := &inst{addr: addr + " (all)", isJoin: true}
			w.add(join)
			si.join = join.node
			for _, in := range si.instances {
				w.g.AddEdge(join.node, in.node)
			}
		}
	})
	return diags
}

// addReferenceEdges makes every instance depend on the steps its step
// depends on (graph.StepDeps, across module boundaries).
func (w *world) addReferenceEdges() {
	for _, si := range w.steps {
		var depAddrs []string
		for _, d := range graph.StepDeps(si.mod, si.step) {
			dep := w.steps[d.Mod.StepAddr(d.Step)]
			if dep == nil {
				continue
			}
			si.deps = append(si.deps, dep)
			for _, in := range si.instances {
				w.g.AddEdge(in.node, dep.join)
			}
			// A for_each dependency is recorded by its step address,
			// which stands for all its instances: state stays linear.
			depAddrs = append(depAddrs, dep.addr)
		}
		for _, in := range si.instances {
			in.deps = depAddrs
		}
	}
}

// addOrphans adds the instances in state that are not (or no longer)
// configured, to be deleted dependents first. In destroy mode every
// instance in state is one.
func (w *world) addOrphans() {
	var orphans []*inst
	for addr, rec := range w.st.Instances {
		if _, ok := w.byAddr[addr]; ok {
			continue
		}
		orphans = append(orphans, &inst{addr: addr, prior: rec, orphan: true})
	}
	sort.Slice(orphans, func(i, j int) bool { return orphans[i].addr < orphans[j].addr })
	for _, in := range orphans {
		w.add(in)
	}
	// A dependency is an instance address or, for for_each steps, a step
	// address.
	orphansOfStep := map[string][]*inst{}
	for _, in := range orphans {
		step := in.addr
		if a, err := config.ParseAddr(in.addr, false); err == nil {
			step = a.StepAddr()
		}
		orphansOfStep[step] = append(orphansOfStep[step], in)
	}
	for _, in := range orphans {
		for _, d := range in.prior.Dependencies {
			if dep, ok := w.byAddr[d]; ok {
				if dep.orphan {
					w.g.AddEdge(dep.node, in.node)
				}
				continue
			}
			for _, dep := range orphansOfStep[d] {
				w.g.AddEdge(dep.node, in.node)
			}
		}
	}
}

// selectTargets limits the walk to the targets and what they depend on.
func (w *world) selectTargets(targets []string) error {
	var roots []int
	for _, t := range targets {
		if in, ok := w.byAddr[t]; ok {
			roots = append(roots, in.node)
			continue
		}
		if si, ok := w.steps[t]; ok {
			roots = append(roots, si.join)
			continue
		}
		if joins := w.moduleTarget(t); len(joins) > 0 {
			roots = append(roots, joins...)
			continue
		}
		return fmt.Errorf("%q is not a step, instance or module of this pipeline; use an address like exec.build, docker_build.app[\"api\"] or module.api (see `ansflow state list`)", t)
	}
	w.targets = map[string]bool{}
	for n := range w.g.Ancestors(roots) {
		w.targets[w.nodes[n].addr] = true
	}
	return nil
}

// skipValue sets the value of an instance that `when = false` skips. With a
// record of an earlier run, references see what that run produced; without
// one, they see only its inputs: a reference to an output is an error that
// says the step was skipped (skippedRefs), and try() falls back.
func (w *world) skipValue(in *inst, inputs cty.Value, kept func() cty.Value) {
	if in.prior != nil {
		in.setValue(kept)
		return
	}
	in.info.neverRan.Store(true)
	schema := in.info.step.Schema
	in.setValue(func() cty.Value {
		attrs := map[string]cty.Value{}
		if inputs != cty.NilVal && inputs.Type().IsObjectType() && inputs.IsKnown() && !inputs.IsNull() {
			for _, a := range schema.Inputs {
				if inputs.Type().HasAttribute(a.Name) {
					attrs[a.Name] = inputs.GetAttr(a.Name)
				}
			}
		}
		return cty.ObjectVal(attrs)
	})
}

// skippedRefs rewrites "Unsupported attribute" errors about an output of a
// step that was skipped and never ran into a message that says so.
func (w *world) skippedRefs(diags hcl.Diagnostics) hcl.Diagnostics {
	return w.skippedRefsIn(diags, nil)
}

// skippedRefsIn is skippedRefs for expressions of module instance m (nil:
// the root).
func (w *world) skippedRefsIn(diags hcl.Diagnostics, m *graph.ModuleInstance) hcl.Diagnostics {
	for _, d := range diags {
		if d.Severity != hcl.DiagError || d.Summary != "Unsupported attribute" || d.Expression == nil {
			continue
		}
		t, tdiags := hcl.AbsTraversalForExpr(d.Expression)
		if tdiags.HasErrors() || len(t) < 2 {
			continue
		}
		attr, ok := t[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		step := t.RootName() + "." + attr.Name
		si := w.steps[modulePrefix(m)+step]
		if si == nil || !si.neverRan.Load() {
			continue
		}
		out := ""
		if a, ok := t[len(t)-1].(hcl.TraverseAttr); ok {
			out = a.Name
		}
		d.Summary = "Reference to a skipped step"
		d.Detail = fmt.Sprintf("%s is skipped (its when is false) and has never run, so it has no %s to refer to. "+
			"Give a fallback with try(%s.%s, \"...\"), or give this step the same when condition.", step, out, step, out)
	}
	return diags
}

// evalStep evaluates one instance's inputs and meta-arguments, filling in
// the default cluster: an input the schema marks DefaultCluster, left
// unset, takes the pipeline's only cluster block when there is exactly one.
func (w *world) evalStep(in *inst) (cty.Value, config.Meta, hcl.Diagnostics) {
	s := in.info.step
	scope, diags := w.scopeFor(in.info.mod)
	vals, d := w.refValues(in.info)
	diags = append(diags, d...)
	inputs, meta, d := scope.EvalStep(s, in.key, vals)
	diags = scope.InModule(w.skippedRefsIn(append(diags, d...), in.info.mod))
	if !scope.Enabled() {
		meta.When = false
	}
	if diags.HasErrors() || len(w.p.Clusters) != 1 {
		return inputs, meta, diags
	}
	for _, a := range s.Schema.Inputs {
		if !a.DefaultCluster {
			continue
		}
		if c := inputs.GetAttr(a.Name); c.IsKnown() && c.IsNull() {
			for name := range w.p.Clusters {
				attrs := inputs.AsValueMap()
				attrs[a.Name] = w.scope.Cluster(name)
				inputs = cty.ObjectVal(attrs)
			}
		}
	}
	return inputs, meta, diags
}

func (w *world) provider(t string) (providers.Step, error) {
	return w.e.Providers.Lookup(t)
}

// declarative reports whether the instance converges an object.
func (w *world) declarative(in *inst, inputs cty.Value) bool {
	t := in.typ()
	schema := w.p.Schemas.Lookup(t)
	if p, err := w.provider(t); err == nil {
		if d, ok := p.(providers.Declarativer); ok && inputs != cty.NilVal && inputs.IsWhollyKnown() {
			u, _ := inputs.UnmarkDeep()
			return d.IsDeclarative(u)
		}
	}
	return schema != nil && schema.Kind == config.Declarative
}

// prior turns a state record into what providers see.
func (w *world) priorOf(rec *state.Instance) providers.Prior {
	p := providers.Prior{Inputs: inputsFromJSON(rec.Inputs), Private: rec.Private}
	if schema := w.p.Schemas.Lookup(rec.Type); schema != nil {
		p.Outputs = outputsFromJSON(rec.Outputs, schema.OutputType())
	}
	return p
}

// diagError wraps diagnostics met while planning or applying one step.
type diagError struct{ diags hcl.Diagnostics }

func (e *diagError) Error() string {
	var parts []string
	for _, d := range config.RedactDiagnostics(e.diags) {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		if d.Subject != nil {
			msg = d.Subject.String() + ": " + msg
		}
		parts = append(parts, msg)
	}
	return strings.Join(parts, "; ")
}

// Diagnostics extracts hcl diagnostics carried by err, if any.
func Diagnostics(err error) hcl.Diagnostics {
	var de *diagError
	if errors.As(err, &de) {
		return de.diags
	}
	return nil
}

// stepError is a failure of one step, with the step's address.
type stepError struct {
	addr string
	err  error
}

func (e *stepError) Error() string { return e.addr + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func unmarked(v cty.Value) cty.Value {
	if !v.ContainsMarked() {
		return v
	}
	u, _ := v.UnmarkDeep()
	return u
}

// ctxErr explains a context error in user terms.
func ctxErr(ctx context.Context, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && timeout > 0 {
		return fmt.Errorf("timed out after %s (the step's timeout); raise `timeout` if it needs longer", timeout)
	}
	return errors.New("cancelled (interrupted)")
}

// hashKey returns the store's hash key for sensitive values, or nil when
// the store keeps none.
func (e *Engine) hashKey(ctx context.Context) ([]byte, hcl.Diagnostics) {
	hk, ok := e.Store.(state.HashKeyer)
	if !ok {
		return nil, nil
	}
	key, err := hk.HashKey(ctx)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the workspace's hash key", Detail: err.Error()}}
	}
	return key, nil
}

// checkPlanSecrets reports a sensitive variable whose value differs from
// the one the plan was made with (by keyed hash).
func checkPlanSecrets(plan *Plan, vars map[string]cty.Value, key []byte) error {
	for name, pv := range plan.Variables {
		if !pv.Sensitive || !strings.HasPrefix(pv.Hash, keyedHashPrefix) {
			continue
		}
		v, ok := vars[name]
		if !ok || sensitiveHash(key, unmarked(v)) != pv.Hash {
			return fmt.Errorf("the sensitive variable %q is not the value the plan was made with (or the plan was made for another workspace's key); "+
				"supply the same value again (for example with ANSFLOW_VAR_%s), or make a new plan", name, name)
		}
	}
	return nil
}
