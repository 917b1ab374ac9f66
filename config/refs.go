package config

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Built-in root names and the attributes they have.
var (
	gitAttrs  = []string{"commit", "short_commit", "branch", "tag", "dirty"}
	runAttrs  = []string{"number", "id"}
	pathAttrs = []string{"root", "module", "cwd"}
	eachAttrs = []string{"key", "value"}
)

const (
	rootVar       = "var"
	rootLocal     = "local"
	rootEach      = "each"
	rootGit       = "git"
	rootRun       = "run"
	rootPath      = "path"
	rootWorkspace = "workspace"
	rootRegistry  = blockRegistry
	rootCluster   = blockCluster
	rootDocker    = blockDocker
)

// refContext says what the expression being checked may refer to.
type refContext struct {
	where      string // for messages: "locals", "a registry block", ...
	steps      bool   // step references allowed
	each       bool   // each.* allowed
	onlyVar    string // when set, only var.<onlyVar> may be referenced
	noConn     bool   // registry, cluster and docker are not available yet
	stepSumm   string // diagnostic summary for a forbidden step reference
	stepDetail string
}

// checkReferences is the second pass of Load: with every declaration known,
// it checks each reference and fills Step.Refs.
func (l *loader) checkReferences() {
	for _, v := range l.varOrder {
		for _, val := range v.Validations {
			rc := refContext{where: "a validation block", onlyVar: v.Name}
			l.checkExpr(val.Condition, rc, nil)
			l.checkExpr(val.ErrorMessage, rc, nil)
		}
	}
	localsRC := refContext{where: "locals", noConn: true, stepSumm: "Locals cannot refer to steps",
		stepDetail: "Local values are computed before any step runs; move this expression into the step that needs it, or into an output."}
	for _, a := range l.localOrder {
		l.checkExpr(a.Expr, localsRC, nil)
	}
	for _, b := range l.outputs {
		if a, ok := b.Body.Attributes["value"]; ok {
			var set refSet
			l.checkExpr(a.Expr, refContext{where: "an output", steps: true}, &set)
			if o := l.p.Outputs[b.Labels[0]]; o != nil && o.Expr == a.Expr {
				o.Refs, o.Vars = set.refs, set.uniqueVars()
			}
		}
	}
	l.checkModuleRefs()
	l.checkModuleCycles()
	blockRC := func(kind string) refContext {
		return refContext{where: kind, noConn: true, stepSumm: "Invalid reference to a step",
			stepDetail: fmt.Sprintf("%s is evaluated before any step runs, so it can refer to variables, locals and built-in values but not to steps.", kind)}
	}
	if l.p.Docker != nil {
		l.checkBodyRefs(l.p.Docker.Config, blockRC("The docker block"))
	}
	for _, name := range sortedKeys(l.p.Registries) {
		l.checkBodyRefs(l.p.Registries[name].Config, blockRC("A registry block"))
	}
	for _, name := range sortedKeys(l.p.Clusters) {
		l.checkBodyRefs(l.p.Clusters[name].Config, blockRC("A cluster block"))
	}
	for _, n := range l.notifyOrder {
		l.checkBodyRefs(n.Config, refContext{where: "a notify block", stepSumm: "Invalid reference to a step",
			stepDetail: "A notify block is evaluated after the apply, from variables, locals and built-in values such as run.number; it cannot refer to steps."})
	}
	for _, s := range l.p.StepOrder {
		l.checkStepRefs(s)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkBodyRefs checks the references in every attribute of body.
func (l *loader) checkBodyRefs(body hcl.Body, rc refContext) {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return
	}
	for _, a := range sortedAttrs(sb) {
		l.checkExpr(a.Expr, rc, nil)
	}
}

// refSite is one expression (or depends_on entry) of a step, with its
// position for ordering the step's Refs.
type refSite struct {
	start     int
	expr      hcl.Expression
	rc        refContext
	dependsOn hcl.Traversal
}

// checkStepRefs checks the references of one step and records its Refs in
// source order.
func (l *loader) checkStepRefs(s *Step) {
	src := l.stepSources[s]
	hasForEach := s.ForEach != nil
	rc := refContext{where: s.Addr(), steps: true, each: hasForEach}
	forEachRC := refContext{where: "for_each", stepSumm: "Invalid for_each argument",
		stepDetail: "for_each must be known before apply, so it can refer to variables, locals and built-in values but not to steps."}
	var sites []refSite
	for _, a := range src.attrs {
		r := rc
		if a.Name == metaForEach {
			r = forEachRC
		}
		sites = append(sites, refSite{start: a.SrcRange.Start.Byte, expr: a.Expr, rc: r})
	}
	if src.retry != nil {
		for _, a := range sortedAttrs(src.retry.Body) {
			sites = append(sites, refSite{start: a.SrcRange.Start.Byte, expr: a.Expr, rc: rc})
		}
	}
	if src.approval != nil {
		for _, a := range sortedAttrs(src.approval.Body) {
			sites = append(sites, refSite{start: a.SrcRange.Start.Byte, expr: a.Expr, rc: approvalRefs})
		}
	}
	for _, t := range s.DependsOn {
		sites = append(sites, refSite{start: t.SourceRange().Start.Byte, dependsOn: t})
	}
	sort.SliceStable(sites, func(i, j int) bool { return sites[i].start < sites[j].start })
	set := refSet{refs: s.Refs, varRanges: map[string]hcl.Range{}}
	for _, site := range sites {
		if site.dependsOn != nil {
			if ref := l.checkDependsOn(site.dependsOn); ref != nil {
				set.refs = append(set.refs, *ref)
			}
			continue
		}
		l.checkExpr(site.expr, site.rc, &set)
	}
	s.Refs, s.Vars, s.varRanges = set.refs, set.uniqueVars(), set.varRanges
}

// checkExpr checks every reference and function call in expr; step and
// module references and the variables read are added to into when it is
// not nil.
func (l *loader) checkExpr(expr hcl.Expression, rc refContext, into *refSet) {
	if expr == nil {
		return
	}
	for _, t := range expr.Variables() {
		ref := l.checkTraversal(t, rc)
		if into == nil {
			continue
		}
		if ref != nil {
			into.refs = append(into.refs, *ref)
		}
		into.addVars(l, t)
	}
	if se, ok := expr.(hclsyntax.Expression); ok {
		l.checkFunctionCalls(se)
	}
}

// checkFunctionCalls reports calls to functions that do not exist.
func (l *loader) checkFunctionCalls(expr hclsyntax.Expression) {
	hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok || isKnownFunction(call.Name) {
			return nil
		}
		l.errorf(call.NameRange, "Call to unknown function",
			"There is no function named %q.%s", call.Name, hintOrList(call.Name, functionNames(), "Functions"))
		return nil
	})
}

// attrName returns the name of traversal step i when it is an attribute
// access, else "".
func attrName(t hcl.Traversal, i int) (string, hcl.Range, bool) {
	if i >= len(t) {
		return "", hcl.Range{}, false
	}
	a, ok := t[i].(hcl.TraverseAttr)
	if !ok {
		return "", t[i].SourceRange(), false
	}
	return a.Name, a.SrcRange, true
}

// checkTraversal checks one reference; it returns the step reference when
// the traversal refers to a declared step.
func (l *loader) checkTraversal(t hcl.Traversal, rc refContext) *StepRef {
	root := t.RootName()
	rng := t.SourceRange()
	if rc.onlyVar != "" {
		if name, _, ok := attrName(t, 1); root != rootVar || !ok || name != rc.onlyVar {
			l.errorf(rng, "Invalid reference in variable validation",
				"A validation condition can refer only to the variable it validates; use var.%s.", rc.onlyVar)
			return nil
		}
	}
	if rc.noConn && (root == rootRegistry || root == rootCluster || root == rootDocker) {
		l.errorf(rng, "Invalid reference",
			"%s blocks cannot be used in %s, which is evaluated before them; refer to them from steps, or move the shared value into a variable or local.", root, rc.where)
		return nil
	}
	switch root {
	case rootVar:
		l.checkNamed(t, "variable", "Reference to undeclared variable", keysOf(l.p.Variables), "declare it with a variable block")
	case rootLocal:
		l.checkNamed(t, "local value", "Reference to undeclared local value", keysOf(l.p.Locals), "define it in a locals block")
	case rootRegistry:
		if l.checkNamed(t, "registry", "Reference to undeclared registry", keysOf(l.mod.root.Registries), "declare it with a registry block in the root pipeline") {
			l.checkAttr(t, 2, "registry", append([]string{"name"}, registryAttrs...))
		}
	case rootCluster:
		if l.checkNamed(t, "cluster", "Reference to undeclared cluster", keysOf(l.mod.root.Clusters), "declare it with a cluster block in the root pipeline") {
			l.checkAttr(t, 2, "cluster", append([]string{"name"}, clusterAttrs...))
		}
	case rootModule:
		return l.checkModuleTraversal(t, rc)
	case rootDocker:
		if l.mod.root.Docker == nil {
			l.errorf(rng, "Reference to undeclared docker block",
				"There is no docker block; add docker { host = \"...\" } or remove this reference.")
			return nil
		}
		l.checkAttr(t, 1, "docker", dockerAttrs)
	case rootEach:
		if !rc.each {
			l.errorf(rng, "Reference to \"each\" in context without for_each",
				"each.key and each.value are available only inside a step that has for_each; add for_each to the step or remove this reference.")
			return nil
		}
		l.checkAttr(t, 1, "each", eachAttrs)
	case rootGit:
		l.checkAttr(t, 1, "git", gitAttrs)
	case rootRun:
		l.checkAttr(t, 1, "run", runAttrs)
	case rootPath:
		l.checkAttr(t, 1, "path", pathAttrs)
	case rootWorkspace:
		if len(t) > 1 {
			l.errorf(t[1].SourceRange(), "Unsupported attribute",
				"workspace is a string (the workspace name) and has no attributes; write workspace on its own.")
		}
	default:
		if l.p.Schemas.Lookup(root) != nil {
			return l.checkStepTraversal(t, rc)
		}
		l.errorf(rng, "Unknown variable",
			"There is no variable named %q.%s", root, hintOrList(root, l.rootNames(), "Names"))
	}
	return nil
}

// rootNames are the names a reference may start with.
func (l *loader) rootNames() []string {
	return append([]string{rootVar, rootLocal, rootEach, rootGit, rootRun, rootPath, rootWorkspace, rootRegistry, rootCluster, rootDocker, rootModule}, l.p.Schemas.Names()...)
}

// nameSet is the declared names of one kind: a constant-time lookup, and
// the sorted list only when a message needs it, so that checking n
// references costs O(n), not O(n^2).
type nameSet struct {
	has func(string) bool
	all func() []string
}

func keysOf[V any](m map[string]V) nameSet {
	return nameSet{
		has: func(n string) bool { _, ok := m[n]; return ok },
		all: func() []string { return sortedKeys(m) },
	}
}

// checkNamed checks root.NAME against the declared names; it reports
// whether the name is declared.
func (l *loader) checkNamed(t hcl.Traversal, kind, summary string, names nameSet, fix string) bool {
	root := t.RootName()
	name, rng, ok := attrName(t, 1)
	if !ok {
		if len(t) == 1 {
			rng = t.SourceRange()
		}
		l.errorf(rng, "Invalid reference",
			"%s is not a value by itself; refer to one %s, such as %s.example.", root, kind, root)
		return false
	}
	if names.has(name) {
		return true
	}
	l.errorf(t.SourceRange(), summary,
		"No %s named %q is declared; %s.%s", kind, name, fix, didYouMean(name, names.all()))
	return false
}

// checkAttr checks that step i of t, when present, is an attribute in names.
func (l *loader) checkAttr(t hcl.Traversal, i int, what string, names []string) {
	if i >= len(t) {
		return
	}
	name, rng, ok := attrName(t, i)
	if !ok {
		l.errorf(rng, "Invalid reference", "%s is an object; refer to one of its attributes: %s.", what, joinNames(names))
		return
	}
	if !contains(names, name) {
		l.errorf(rng, "Unsupported attribute",
			"%s has no attribute %q.%s", what, name, hintOrList(name, names, "Attributes"))
	}
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// checkStepTraversal checks a reference to TYPE.NAME[...].attr.
func (l *loader) checkStepTraversal(t hcl.Traversal, rc refContext) *StepRef {
	typ := t.RootName()
	name, nameRng, ok := attrName(t, 1)
	if !ok {
		if len(t) == 1 {
			nameRng = t.SourceRange()
		}
		l.errorf(nameRng, "Invalid reference",
			"A reference to a step needs its name: write %s.NAME.", typ)
		return nil
	}
	addr := typ + "." + name
	step, declared := l.p.Steps[addr]
	if !declared {
		l.errorf(t.SourceRange(), "Reference to undeclared step",
			"No %s step named %q is declared; declare it or fix the name.%s", typ, name, didYouMean(addr, l.stepAddrs()))
		return nil
	}
	if !rc.steps {
		l.errorf(t.SourceRange(), rc.stepSumm, "%s", rc.stepDetail)
		return nil
	}
	next := 2
	if step.ForEach != nil {
		switch {
		case len(t) == 2:
			// The whole step (an object of instances) or an index by a
			// dynamic key such as [each.key].
			return &StepRef{Addr: addr, Range: t.SourceRange()}
		case isIndex(t[2]):
			if !l.checkInstanceKey(step, t[2].(hcl.TraverseIndex)) {
				return nil
			}
			next = 3
		default:
			l.errorf(t.SourceRange(), "Missing instance key",
				"%s has for_each, so refer to one instance, such as %s[\"key\"].%s or %s[each.key].%s.", addr, addr, traverserName(t[2]), addr, traverserName(t[2]))
			return nil
		}
	} else if len(t) > 2 && isIndex(t[2]) {
		l.errorf(t[2].SourceRange(), "Unexpected instance key",
			"%s has no for_each, so it has a single instance; remove the [...] after its name.", addr)
		return nil
	}
	attr := ""
	if next < len(t) {
		a, rng, ok := attrName(t, next)
		if !ok {
			l.errorf(rng, "Invalid reference", "Refer to an attribute of %s, such as %s.", addr, joinNames(step.Schema.AttributeNames()))
			return nil
		}
		if !l.hasAttribute(step.Schema, a) {
			l.errorf(rng, "Unsupported attribute",
				"%s has no attribute %q.%s", addr, a, hintOrList(a, step.Schema.AttributeNames(), "Attributes"))
			return nil
		}
		attr = a
	}
	return &StepRef{Addr: addr, Attr: attr, Range: t.SourceRange()}
}

// hasAttribute reports whether a reference may use attribute name of a step
// of the given schema; the name sets are built once per schema.
func (l *loader) hasAttribute(schema *StepSchema, name string) bool {
	set, ok := l.attrNames[schema]
	if !ok {
		set = map[string]bool{}
		for _, n := range schema.AttributeNames() {
			set[n] = true
		}
		l.attrNames[schema] = set
	}
	return set[name]
}

// checkInstanceKey checks a constant instance key against the keys of a
// step whose for_each is a constant; other keys are checked when evaluated.
func (l *loader) checkInstanceKey(step *Step, idx hcl.TraverseIndex) bool {
	keys, ok := l.staticKeys[step]
	if !ok {
		return true
	}
	k, err := convert.Convert(idx.Key, cty.String)
	if err != nil || !k.IsKnown() || k.IsNull() {
		return true
	}
	key := k.AsString()
	if i := sort.SearchStrings(keys, key); i < len(keys) && keys[i] == key {
		return true
	}
	shown := keys
	if len(shown) > 10 {
		shown = append(shown[:10:10], "...")
	}
	l.errorf(idx.SrcRange, "Invalid instance key",
		"%s has no instance %q; its for_each keys are: %s.%s", step.Addr(), key, joinNames(shown), didYouMean(key, keys))
	return false
}

func isIndex(tr hcl.Traverser) bool {
	_, ok := tr.(hcl.TraverseIndex)
	return ok
}

func traverserName(tr hcl.Traverser) string {
	if a, ok := tr.(hcl.TraverseAttr); ok {
		return a.Name
	}
	return "attr"
}

// stepAddrs lists the declared step addresses, for suggestions on an error
// path.
func (l *loader) stepAddrs() []string {
	addrs := make([]string, 0, len(l.p.StepOrder))
	for _, s := range l.p.StepOrder {
		addrs = append(addrs, s.Addr())
	}
	return addrs
}

// checkDependsOn checks a depends_on entry: TYPE.NAME or TYPE.NAME["key"].
func (l *loader) checkDependsOn(t hcl.Traversal) *StepRef {
	typ := t.RootName()
	rng := t.SourceRange()
	if typ == rootModule {
		return l.checkDependsOnModule(t)
	}
	if l.p.Schemas.Lookup(typ) == nil {
		l.errorf(rng, "Invalid depends_on reference",
			"depends_on lists steps, such as docker_run.unit_tests; %q is not a step type.%s", typ, didYouMean(typ, l.p.Schemas.Names()))
		return nil
	}
	name, _, ok := attrName(t, 1)
	if !ok {
		l.errorf(rng, "Invalid depends_on reference", "A step reference needs its name: write %s.NAME.", typ)
		return nil
	}
	addr := typ + "." + name
	if _, declared := l.p.Steps[addr]; !declared {
		l.errorf(rng, "Reference to undeclared step",
			"No %s step named %q is declared; declare it or fix the name.%s", typ, name, didYouMean(addr, l.stepAddrs()))
		return nil
	}
	rest := t[2:]
	if len(rest) > 0 && isIndex(rest[0]) {
		rest = rest[1:]
	}
	if len(rest) > 0 {
		l.errorf(rest[0].SourceRange(), "Invalid depends_on reference",
			"depends_on refers to whole steps; remove the attribute and write just %s.", addr)
		return nil
	}
	return &StepRef{Addr: addr, DependsOn: true, Range: rng}
}
