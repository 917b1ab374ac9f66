package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

const (
	blockModule = "module"
	rootModule  = "module"

	moduleSource = "source"
)

// moduleMetaNames are the arguments of a module block that are not the
// module's variables.
var moduleMetaNames = []string{moduleSource, metaForEach, metaWhen, metaDependsOn}

// rootOnlyBlocks may appear only in the root pipeline: a module's steps use
// the root's connections by name.
var rootOnlyBlocks = map[string]bool{blockAnsflow: true, blockDocker: true, blockRegistry: true, blockCluster: true, blockNotify: true}

// moduleContext is what a loader of a module knows about where it is.
type moduleContext struct {
	root      *Pipeline // the root pipeline, for connection blocks
	chain     string    // module.a.module.b: the module path of this loader
	callRange hcl.Range // the module block that called this module
	stack     []string  // absolute directories of the modules being loaded, outermost first
	// childDiags are the diagnostics of nested modules, already annotated
	// with their call chain.
	childDiags hcl.Diagnostics
}

// decodeModule reads a module "name" { source = "...", ... } block; the
// module itself is loaded by loadModules once every block is known.
func (l *loader) decodeModule(b *hclsyntax.Block) {
	if !l.checkLabels(b, true, "name") {
		return
	}
	name := b.Labels[0]
	if prev, ok := l.p.Modules[name]; ok {
		l.errorf(b.DefRange(), "Duplicate module call",
			"A module named %q was already called at %s; rename or remove one of them.", name, prev.DeclRange)
		return
	}
	for _, nb := range b.Body.Blocks {
		l.errorf(nb.TypeRange, "Unsupported block type",
			"Blocks of type %q are not expected in a module block; pass values to the module's variables as arguments: name = value.", nb.Type)
	}
	call := &ModuleCall{Name: name, DeclRange: b.DefRange(), Args: map[string]*ModuleArg{}}
	src, ok := b.Body.Attributes[moduleSource]
	if !ok {
		l.errorf(b.DefRange(), "Missing required argument",
			"A module block needs a source: add source = \"./modules/NAME\" (a directory relative to this file's directory) to module %q.", name)
		return
	}
	call.SourceRange = src.Expr.Range()
	if s, ok := l.staticString(src); ok {
		call.Source = s
	} else {
		return
	}
	for _, a := range sortedAttrs(b.Body) {
		switch a.Name {
		case moduleSource:
		case metaForEach:
			call.ForEach = a.Expr
			l.checkStaticMeta(a.Expr, func(v cty.Value) hcl.Diagnostics { _, _, d := forEachInstances(v, a.Expr.Range()); return d })
		case metaWhen:
			call.When = a.Expr
			l.checkStaticMeta(a.Expr, func(v cty.Value) hcl.Diagnostics { _, d := boolMeta(v, metaWhen, a.Expr.Range()); return d })
		case metaDependsOn:
			call.DependsOn = l.decodeDependsOn(a)
		default:
			call.Args[a.Name] = &ModuleArg{Name: a.Name, Expr: a.Expr, NameRange: a.NameRange}
		}
	}
	if l.p.Modules == nil {
		l.p.Modules = map[string]*ModuleCall{}
	}
	l.p.Modules[name] = call
	l.p.ModuleOrder = append(l.p.ModuleOrder, call)
}

// rootOnlyBlock reports a connection, ansflow or notify block in a module.
func (l *loader) rootOnlyBlock(b *hclsyntax.Block) {
	l.errorf(b.TypeRange, "Block not allowed in a module",
		"A %s block belongs in the root pipeline: declare it there, and the steps of this module use it by name (for example registry.main or cluster.dev).", b.Type)
}

// isLocalSource reports whether a module source is a path on disk
// relative to the calling module.
func isLocalSource(s string) bool {
	return strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || s == "." || s == ".."
}

// moduleDir finds the directory of a module call's source: its path
// relative to the root pipeline directory and its absolute path.
func (l *loader) moduleDir(call *ModuleCall) (rel, abs string, ok bool) {
	if isLocalSource(call.Source) {
		rel = filepath.Clean(filepath.Join(l.p.Path, filepath.FromSlash(call.Source)))
		abs = filepath.Join(l.p.Dir, rel)
	} else {
		if l.opts.Modules == nil {
			l.errorf(call.SourceRange, "Module not installed",
				"The module source %q is not a local path (./ or ../), so it must be installed first: run ansflow init to install it.", call.Source)
			return "", "", false
		}
		dir, err := l.opts.Modules.ResolveModule(call.Source)
		if err != nil {
			l.errorf(call.SourceRange, "Cannot use module source", "%s", err)
			return "", "", false
		}
		if filepath.IsAbs(dir) {
			abs = dir
			if r, err := filepath.Rel(l.p.Dir, dir); err == nil {
				rel = r
			} else {
				rel = dir
			}
		} else {
			rel, abs = filepath.Clean(dir), filepath.Join(l.p.Dir, dir)
		}
	}
	fi, err := os.Stat(abs)
	if err != nil || !fi.IsDir() {
		l.errorf(call.SourceRange, "Module source not found",
			"The module directory %q does not exist (a local source is relative to the directory of the module that calls it, here %q); create it or fix the source.", filepath.ToSlash(rel), filepath.ToSlash(l.p.Path))
		return "", "", false
	}
	for i, d := range l.mod.stack {
		if d == abs {
			l.errorf(call.SourceRange, "Module calls itself",
				"The module %q is already being loaded (%s); a module cannot call itself, directly or through other modules. Remove this module block.", filepath.ToSlash(rel), strings.Join(l.mod.stack[i:], " -> "))
			return "", "", false
		}
	}
	return rel, abs, true
}

// loadModules loads the module of every module call, each with a loader of
// its own.
func (l *loader) loadModules() {
	for _, call := range l.p.ModuleOrder {
		rel, abs, ok := l.moduleDir(call)
		if !ok {
			continue
		}
		child := l.childLoader(call, rel, abs)
		child.loadFiles(abs, filepath.Join(l.p.dirArg, rel))
		if !child.diags.HasErrors() {
			for _, f := range child.files {
				child.decodeFile(f.Body.(*hclsyntax.Body))
			}
			child.loadModules()
			child.checkReferences()
			call.Module = child.p
		}
		l.mod.childDiags = append(l.mod.childDiags, child.finish()...)
		if call.Module != nil {
			l.checkModuleArgs(call)
		}
	}
}

// childLoader is the loader of the module called by call.
func (l *loader) childLoader(call *ModuleCall, rel, abs string) *loader {
	child := newLoader(l.p.Dir, l.p.dirArg)
	child.opts = l.opts
	child.p.Schemas = l.p.Schemas
	child.p.Files = l.mod.root.Files
	child.p.Path = filepath.ToSlash(rel)
	chain := rootModule + "." + call.Name
	if l.mod.chain != "" {
		chain = l.mod.chain + "." + chain
	}
	child.mod = moduleContext{
		root: l.mod.root, chain: chain, callRange: call.DeclRange,
		stack: append(append([]string(nil), l.mod.stack...), abs),
	}
	return child
}

// loadFiles parses the pipeline files of directory abs, naming them under
// shown in diagnostics.
func (l *loader) loadFiles(abs, shown string) {
	names, diag := pipelineFiles(abs)
	if diag != nil {
		diag.Subject = &hcl.Range{Filename: shown, Start: hcl.InitialPos, End: hcl.InitialPos}
		diag.Detail = fmt.Sprintf("The module directory %q has no *.hcl files; add the module's files or fix the source.", filepath.ToSlash(l.p.Path))
		l.diags = append(l.diags, diag)
		return
	}
	for _, name := range names {
		l.parseFile(filepath.Join(shown, name))
	}
}

// finish returns the diagnostics of a module's loader, each saying which
// module call they are in, followed by those of its nested modules.
func (l *loader) finish() hcl.Diagnostics {
	return append(InModule(l.diags, l.mod.chain, l.mod.callRange), l.mod.childDiags...)
}

// InModule ends the detail of each diagnostic with the module it is in and
// where that module was called: " In module.a.module.b (called at
// a/main.hcl:3,1).". A diagnostic that says so already is left alone.
// path "" (the root) changes nothing.
func InModule(diags hcl.Diagnostics, path string, call hcl.Range) hcl.Diagnostics {
	if path == "" {
		return diags
	}
	suffix := fmt.Sprintf(" In %s (called at %s).", path, rangeStart(call))
	for _, d := range diags {
		if !strings.Contains(d.Detail, " In module.") {
			d.Detail += suffix
		}
	}
	return diags
}

// rangeStart is FILE:LINE,COL of the start of r.
func rangeStart(r hcl.Range) string {
	return fmt.Sprintf("%s:%d,%d", r.Filename, r.Start.Line, r.Start.Column)
}

// checkModuleArgs checks the arguments of a call against the variables of
// the module it calls.
func (l *loader) checkModuleArgs(call *ModuleCall) {
	vars := call.Module.Variables
	for _, name := range sortedKeys(call.Args) {
		if _, ok := vars[name]; ok {
			continue
		}
		l.errorf(call.Args[name].NameRange, "Unsupported argument",
			"The module %s (%s) has no variable named %q; declare it in the module with a variable block, or remove the argument.%s",
			call.Name, call.Module.Path, name, hintOrList(name, append(sortedKeys(vars), moduleMetaNames...), "Arguments"))
	}
	for _, name := range sortedKeys(vars) {
		v := vars[name]
		if _, ok := call.Args[name]; ok || v.HasDefault {
			continue
		}
		l.errorf(call.DeclRange, "Missing required argument",
			"The module %s (%s) needs a value for its variable %q, which has no default; add %s = ... to the module block.", call.Name, call.Module.Path, name, name)
	}
}

// checkModuleRefs checks the references of every module call's arguments
// and meta-arguments, in the caller.
func (l *loader) checkModuleRefs() {
	forEachRC := refContext{where: "for_each", stepSumm: "Invalid for_each argument",
		stepDetail: "for_each must be known before apply, so it can refer to variables, locals and built-in values but not to steps or modules."}
	whenRC := refContext{where: "when", stepSumm: "Invalid when argument",
		stepDetail: "The when of a module is decided before any step runs, so it can refer to variables, locals and built-in values but not to steps or modules."}
	for _, call := range l.p.ModuleOrder {
		rc := refContext{where: rootModule + "." + call.Name, steps: true, each: call.ForEach != nil}
		for _, name := range sortedKeys(call.Args) {
			a := call.Args[name]
			var set refSet
			l.checkExpr(a.Expr, rc, &set)
			a.Refs, a.Vars = set.refs, set.uniqueVars()
		}
		l.checkExpr(call.ForEach, forEachRC, nil)
		l.checkExpr(call.When, whenRC, nil)
		var set refSet
		for _, t := range call.DependsOn {
			if ref := l.checkDependsOn(t); ref != nil {
				set.refs = append(set.refs, *ref)
			}
		}
		call.Refs, call.Vars = set.refs, set.uniqueVars()
	}
}

// checkModuleTraversal checks a reference to module.NAME[...].OUTPUT.
func (l *loader) checkModuleTraversal(t hcl.Traversal, rc refContext) *StepRef {
	name, nameRng, ok := attrName(t, 1)
	if !ok {
		if len(t) == 1 {
			nameRng = t.SourceRange()
		}
		l.errorf(nameRng, "Invalid reference", "A reference to a module needs its name and an output: write module.NAME.OUTPUT.")
		return nil
	}
	call, declared := l.p.Modules[name]
	if !declared {
		l.errorf(t.SourceRange(), "Reference to undeclared module",
			"No module named %q is called here; add a module %q block or fix the name.%s", name, name, didYouMean(name, sortedKeys(l.p.Modules)))
		return nil
	}
	if !rc.steps {
		l.errorf(t.SourceRange(), rc.stepSumm, "%s", rc.stepDetail)
		return nil
	}
	addr := rootModule + "." + name
	next := 2
	switch {
	case call.ForEach != nil && len(t) == 2:
		return &StepRef{Addr: addr, Range: t.SourceRange()}
	case call.ForEach != nil && isIndex(t[2]):
		next = 3
	case call.ForEach != nil:
		l.errorf(t.SourceRange(), "Missing instance key",
			"%s has for_each, so refer to one instance, such as %s[\"key\"].%s or %s[each.key].%s.", addr, addr, traverserName(t[2]), addr, traverserName(t[2]))
		return nil
	case len(t) > 2 && isIndex(t[2]):
		l.errorf(t[2].SourceRange(), "Unexpected instance key",
			"%s has no for_each, so it has a single instance; remove the [...] after its name.", addr)
		return nil
	}
	if next >= len(t) {
		return &StepRef{Addr: addr, Range: t.SourceRange()}
	}
	out, rng, ok := attrName(t, next)
	if !ok {
		l.errorf(rng, "Invalid reference", "Refer to an output of %s: write %s.OUTPUT.", addr, addr)
		return nil
	}
	if call.Module != nil && call.Module.Outputs[out] == nil {
		outs := sortedKeys(call.Module.Outputs)
		l.errorf(rng, "Reference to undeclared module output",
			"The module %s (%s) has no output %q; declare it in the module with an output block, or use one of its outputs.%s",
			addr, call.Module.Path, out, hintOrList(out, outs, "Outputs"))
		return nil
	}
	return &StepRef{Addr: addr, Attr: out, Range: t.SourceRange()}
}

// refSet collects what an expression reads: steps and module calls, and
// variables (directly or through locals).
type refSet struct {
	refs []StepRef
	vars []string
	// varRanges are where each variable is first read (the var. or local.
	// reference), when collected for a step.
	varRanges map[string]hcl.Range
}

func (s *refSet) uniqueVars() []string {
	if len(s.vars) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(s.vars))
	var out []string
	for _, v := range s.vars {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// localVars are the variables local value name reads, directly or through
// other locals.
func (l *loader) localVars(name string) []string {
	if v, ok := l.localVarsMemo[name]; ok {
		return v
	}
	l.localVarsMemo[name] = nil // a cycle is reported when evaluating
	loc, ok := l.p.Locals[name]
	if !ok {
		return nil
	}
	var set refSet
	for _, t := range loc.Expr.Variables() {
		set.addVars(l, t)
	}
	out := set.uniqueVars()
	l.localVarsMemo[name] = out
	return out
}

// addVars records the variables traversal t reads.
func (s *refSet) addVars(l *loader, t hcl.Traversal) {
	name, _, ok := attrName(t, 1)
	if !ok {
		return
	}
	n := len(s.vars)
	switch t.RootName() {
	case rootVar:
		s.vars = append(s.vars, name)
	case rootLocal:
		s.vars = append(s.vars, l.localVars(name)...)
	}
	if s.varRanges == nil {
		return
	}
	for _, v := range s.vars[n:] {
		if _, ok := s.varRanges[v]; !ok {
			s.varRanges[v] = t.SourceRange()
		}
	}
}

// checkDependsOnModule checks a depends_on entry module.NAME: a dependency
// on every step of the module.
func (l *loader) checkDependsOnModule(t hcl.Traversal) *StepRef {
	rng := t.SourceRange()
	name, _, ok := attrName(t, 1)
	if !ok {
		l.errorf(rng, "Invalid depends_on reference", "A module reference needs its name: write module.NAME.")
		return nil
	}
	if _, declared := l.p.Modules[name]; !declared {
		l.errorf(rng, "Reference to undeclared module",
			"No module named %q is called here; add a module %q block or fix the name.%s", name, name, didYouMean(name, sortedKeys(l.p.Modules)))
		return nil
	}
	if len(t) > 2 {
		l.errorf(t[2].SourceRange(), "Invalid depends_on reference",
			"depends_on waits for all of a module (every instance and step); write just module.%s.", name)
		return nil
	}
	return &StepRef{Addr: rootModule + "." + name, DependsOn: true, Range: rng}
}

// checkModuleCycles reports module calls whose arguments read each other's
// outputs in a loop (module.a passes module.b.x, module.b passes
// module.a.y): each needs the other's variables first.
func (l *loader) checkModuleCycles() {
	state := map[string]int{} // 0 unvisited, 1 on the path, 2 done
	var path []string
	var visit func(c *ModuleCall) bool
	visit = func(c *ModuleCall) bool {
		state[c.Name] = 1
		path = append(path, c.Name)
		for _, name := range sortedKeys(c.Args) {
			for _, r := range c.Args[name].Refs {
				to, ok := r.ModuleRef()
				next := l.p.Modules[to]
				if !ok || next == nil {
					continue
				}
				if state[to] == 1 {
					i := 0
					for path[i] != to {
						i++
					}
					chain := append(append([]string(nil), path[i:]...), to)
					for j := range chain {
						chain[j] = rootModule + "." + chain[j]
					}
					l.errorf(r.Range, "Dependency cycle between modules",
						"The arguments of these module calls read each other's outputs in a circle: %s. Pass one of the values from somewhere else so the modules can be evaluated in order.", strings.Join(chain, " -> "))
					return true
				}
				if state[to] == 0 && visit(next) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		state[c.Name] = 2
		return false
	}
	for _, c := range l.p.ModuleOrder {
		if state[c.Name] == 0 && visit(c) {
			return
		}
	}
}

// StepAt returns the step declared at step address addr ([module
// path.]TYPE.NAME; keys of module instances do not matter), or nil.
func (p *Pipeline) StepAt(addr string) *Step {
	a, err := ParseAddr(addr, false)
	if err != nil {
		return nil
	}
	m := p
	for _, ms := range a.Module {
		c := m.Modules[ms.Name]
		if c == nil || c.Module == nil {
			return nil
		}
		m = c.Module
	}
	return m.Steps[a.Type+"."+a.Name]
}

// StepCount is the number of step blocks of p and of the modules it calls,
// counting a module once per module block.
func (p *Pipeline) StepCount() int {
	n := len(p.StepOrder)
	for _, c := range p.ModuleOrder {
		if c.Module != nil {
			n += c.Module.StepCount()
		}
	}
	return n
}
