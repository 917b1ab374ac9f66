package convert

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ansflow/ansflow/providers/builtin"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"
)

// Warning is something of the YAML pipeline that the conversion could not
// carry over exactly: a field without an ansflow equivalent, a condition
// ansflow cannot express, a value it had to leave to a variable.
type Warning struct {
	File    string
	Line    int    // 1-based line in the YAML file; 0 when unknown
	Step    string // the step's name; "" for pipeline-level warnings
	Message string
}

// String renders the warning as "file:line: step "name": message".
func (w Warning) String() string {
	var b strings.Builder
	if w.File != "" {
		b.WriteString(w.File)
		if w.Line > 0 {
			fmt.Fprintf(&b, ":%d", w.Line)
		}
		b.WriteString(": ")
	}
	if w.Step != "" {
		fmt.Fprintf(&b, "step %q: ", w.Step)
	}
	b.WriteString(w.Message)
	return b.String()
}

// Error is a YAML pipeline that cannot be converted at all: invalid YAML, or
// a file without steps.
type Error struct {
	File    string
	Line    int // 0 when unknown
	Message string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Message)
}

// Convert translates the AnsFlow YAML pipeline src, read from filename (used
// in messages), into one formatted ansflow HCL file. Warnings list what did
// not carry over exactly; the error, an *Error, is for input that cannot be
// converted at all.
func Convert(src []byte, filename string) (hcl []byte, warnings []Warning, err error) {
	return ConvertWith(src, filename, DefaultOptions())
}

// Options change what the conversion may generate.
type Options struct {
	// HelmRelease generates helm_release steps for Helm deploys; without
	// it they become exec steps running `helm upgrade --install`.
	HelmRelease bool
}

// DefaultOptions uses every step type this build of ansflow has.
func DefaultOptions() Options {
	return Options{HelmRelease: builtin.Schemas().Lookup("helm_release") != nil}
}

// ConvertWith is Convert with options. The input is YAML or JSON (AnsFlow's
// API form); JSON errors are reported with their line and column.
func ConvertWith(src []byte, filename string, o Options) (hcl []byte, warnings []Warning, err error) {
	src, err = prepareJSON(src, filename)
	if err != nil {
		return nil, nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, nil, yamlError(filename, err)
	}
	c := &converter{filename: filename, vars: map[string]*variable{}, opts: o}
	p, err := c.readPipeline(&doc)
	if err != nil {
		return nil, c.warnings, err
	}
	c.planNamespaces(p.steps)
	for _, s := range p.steps {
		c.convertStep(s)
	}
	c.explicitDependencies()
	c.orderDependencies()
	c.groupPolicies(p)
	return c.render(p), c.warnings, nil
}

// converter holds the state of one conversion.
type converter struct {
	filename string
	opts     Options
	warnings []Warning

	vars       map[string]*variable
	varOrder   []*variable
	registries []*connection
	clusters   []*connection
	namespace  string // default namespace for the cluster block; "" for none
	clusterID  string // the stored cluster of every k8s step, when they agree

	steps                           []*step // converted so far, in order
	lastBuild, lastPush, lastDeploy *step
	lastRegistry                    *connection // of the step being converted

	notifies    []*notifyBlock
	notifyNames map[string]bool
}

// variable is a variable block the conversion declares; sensitive ones
// stand for secrets that are never written into the HCL.
type variable struct {
	name, typ string
	sensitive bool
}

// connection is a registry or cluster block.
type connection struct {
	name    string
	key     string // identity: "url:ADDRESS" or "id:ID"
	comment string
	attrs   []namedTokens
}

type namedTokens struct {
	name string
	toks hclwrite.Tokens
}

// pipeline is what the YAML file holds.
type pipeline struct {
	name, description string
	steps             []*step
	groups            map[string]*group // parallel groups by key
	memberOf          []groupRef        // steps that groups list
}

// step is one AnsFlow step and the HCL block it becomes.
type step struct {
	name    string // the AnsFlow display name
	typ     string // the ansflow step type
	srcType string // the AnsFlow step type
	label   string
	order   int
	line    int
	f       *fields

	id          string       // AnsFlow's id of the step, for dependencies
	description string       // becomes a comment
	group       string       // parallel_group; "" for none
	deps        []*yaml.Node // dependencies: ids or names of steps
	retry       *retryBlock
	approval    *approvalSpec
	continueOn  bool // continue_on_error
	explicitDep bool // dependencies given: order adds no edges

	attrs     map[string]hclwrite.Tokens
	when      hclwrite.Tokens
	timeout   hclwrite.Tokens
	refs      []*step // steps referred to by expressions
	dependsOn []*step

	image, tag   string // docker_build: the literal docker_image and docker_tag
	hasNamespace bool   // k8s_deploy: namespace set on the step itself
}

func (s *step) set(attr string, toks hclwrite.Tokens) {
	if toks != nil {
		s.attrs[attr] = toks
	}
}

func (c *converter) warnf(line int, step, format string, args ...any) {
	c.warnings = append(c.warnings, Warning{File: c.filename, Line: line, Step: step, Message: fmt.Sprintf(format, args...)})
}

func (c *converter) declareVar(name, typ string) *variable {
	if v, ok := c.vars[name]; ok {
		return v
	}
	v := &variable{name: name, typ: typ}
	c.vars[name] = v
	c.varOrder = append(c.varOrder, v)
	return v
}

// readPipeline reads the pipeline in any of AnsFlow's shapes: a mapping
// under a top-level pipeline: key, the pipeline mapping itself (as its API
// sends it), or a bare list of steps. Steps are sorted by order, the steps
// of a parallel group moved to the group's first order.
func (c *converter) readPipeline(doc *yaml.Node) (*pipeline, error) {
	if len(doc.Content) == 0 {
		return nil, &Error{File: c.filename, Message: "the file is empty; expected a pipeline with a list of steps"}
	}
	root := resolve(doc.Content[0])
	p := &pipeline{groups: map[string]*group{}}
	var steps *yaml.Node
	switch root.Kind {
	case yaml.SequenceNode:
		steps = root
	case yaml.MappingNode:
		var err error
		if steps, err = c.readPipelineFields(root, p); err != nil {
			return nil, err
		}
	default:
		return nil, &Error{File: c.filename, Line: root.Line, Message: "expected a pipeline mapping (with steps), a {pipeline: ...} wrapper or a list of steps at the top of the file"}
	}
	labels := map[string]bool{}
	for i, n := range steps.Content {
		s, err := c.readStep(n, i+1, labels)
		if err != nil {
			return nil, err
		}
		if s != nil {
			p.steps = append(p.steps, s)
		}
	}
	c.groupOrders(p)
	sort.SliceStable(p.steps, func(i, j int) bool { return p.steps[i].order < p.steps[j].order })
	return p, nil
}

// readPipelineFields reads the pipeline-level fields of a mapping and
// returns its steps list.
func (c *converter) readPipelineFields(root *yaml.Node, p *pipeline) (*yaml.Node, error) {
	pf := c.fieldsOf(root, "", "")
	if pf.has("pipeline") {
		outer := pf
		n := pf.take("pipeline")
		if n == nil || n.Kind != yaml.MappingNode {
			return nil, &Error{File: c.filename, Line: root.Line, Message: "pipeline: must be a mapping with a name and a list of steps"}
		}
		pf = c.fieldsOf(n, "", "pipeline.")
		outer.unused("", nil)
	}
	if name, ok := scalarString(pf.take("name")); ok {
		p.name = name
	}
	if desc, ok := scalarString(pf.take("description")); ok {
		p.description = desc
	}
	if mode := pf.take("execution_mode"); mode != nil && mode.Value != "local" {
		c.warnf(mode.Line, "", "execution_mode %q has no equivalent: ansflow runs the steps itself, on the machine it runs on; dropped", mode.Value)
	}
	c.readGroups(p, pf.take("parallel_groups"))
	if cfg := pf.sub("config"); cfg != nil {
		c.readGroups(p, cfg.take("parallel_groups"))
		cfg.unused("", nil)
	}
	c.pipelineExtras(p, pf)
	steps := pf.take("steps")
	pf.unused("", nil)
	if steps == nil || steps.Kind != yaml.SequenceNode {
		line := root.Line
		if steps != nil {
			line = steps.Line
		}
		return nil, &Error{File: c.filename, Line: line, Message: "expected steps: a list of steps"}
	}
	return steps, nil
}

// readStep reads a step's name, type and order. It returns nil for steps of
// a type ansflow does not have, after reporting them.
func (c *converter) readStep(n *yaml.Node, position int, labels map[string]bool) (*step, error) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, &Error{File: c.filename, Line: n.Line, Message: fmt.Sprintf("step %d is not a mapping; each step needs at least a name and a type", position)}
	}
	s := &step{line: n.Line, order: position, attrs: map[string]hclwrite.Tokens{}}
	s.name = fmt.Sprintf("step %d", position)
	if name, ok := scalarString(lookup(n, "name")); ok && name != "" {
		s.name = name
	}
	s.f = c.fieldsOf(n, s.name, "")
	s.f.take("name")
	typ, _ := scalarString(s.f.takeFirst("step_type", "type"))
	if typ == "" {
		return nil, &Error{File: c.filename, Line: n.Line, Message: fmt.Sprintf("step %q has no type; set step_type (or type) to one of %s", s.name, strings.Join(sourceTypeNames(), ", "))}
	}
	if _, ok := stepConverters[typ]; !ok {
		c.warnf(n.Line, s.name, "step type %q has no ansflow equivalent (known: %s); the step is dropped", typ, strings.Join(sourceTypeNames(), ", "))
		return nil, nil
	}
	s.typ, s.srcType = typ, typ
	if t, ok := targetTypes[typ]; ok {
		s.typ = t
	}
	if o := s.f.take("order"); o != nil {
		if err := o.Decode(&s.order); err != nil {
			c.warnf(o.Line, s.name, "order %q is not a whole number; the step keeps its position %d", o.Value, position)
			s.order = position
		}
	}
	if id, ok := scalarString(s.f.take("id")); ok {
		s.id = id
	}
	if g := s.f.take("parallel_group"); g != nil {
		if text, ok := scalarString(g); ok && text != "" {
			s.group = text
		} else if !ok {
			c.warnf(g.Line, s.name, "parallel_group must be a group name or id; dropped")
		}
	}
	s.label = labelFor(s.name, position, labels)
	return s, nil
}

// lookup returns the value of key in mapping n, or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// planNamespaces decides whether the k8s namespace goes into the cluster
// block: when every k8s step that names one names the same, and at most one
// cluster is used, the cluster's default namespace is that one and steps
// leave it out (so steps that relied on the namespace being passed along
// still find their objects).
func (c *converter) planNamespaces(steps []*step) {
	namespaces, clusters := map[string]bool{}, map[string]bool{}
	for _, s := range steps {
		if !strings.HasPrefix(s.typ, "k8s_") {
			continue
		}
		if ns, ok := scalarString(s.f.vals["k8s_namespace"]); ok && !placeholderRE.MatchString(ns) {
			namespaces[ns] = true
		} else if s.f.has("k8s_namespace") {
			return
		}
		if id, ok := scalarString(s.f.vals["k8s_cluster"]); ok {
			clusters[id] = true
		}
	}
	if len(namespaces) == 1 && len(clusters) <= 1 {
		for ns := range namespaces {
			c.namespace = ns
		}
		for id := range clusters {
			c.clusterID = id
		}
	}
}

// conditions turns the step's conditions into its when expression.
func (c *converter) conditions(s *step) {
	n := s.f.take("conditions")
	if n == nil {
		return
	}
	if n.Kind == yaml.MappingNode && lookup(n, "type") == nil {
		s.when = and(c.conditionMap(s, n))
		return
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var exprs []hclwrite.Tokens
	for _, item := range items {
		if item = resolve(item); item.Kind == yaml.MappingNode && lookup(item, "type") == nil {
			exprs = append(exprs, c.conditionMap(s, item)...)
			continue
		}
		if e := c.condition(s, item); e != nil {
			exprs = append(exprs, e)
		}
	}
	s.when = and(exprs)
}

// convertStep fills in the step's block.
func (c *converter) convertStep(s *step) {
	if s.srcType == "notify" {
		c.notifyStep(s)
		return
	}
	c.conditions(s)
	stepConverters[s.srcType](c, s)
	c.commonFields(s)
	c.approval(s)
	c.stepNotifications(s)
	s.f.unused(s.typ, knownStepFields)
	c.steps = append(c.steps, s)
}

// orderDependencies turns order groups into depends_on: each step depends
// on every step of the group before it that it does not already reach
// through its references.
func (c *converter) orderDependencies() {
	var prev, cur []*step
	for i, s := range c.steps {
		if i > 0 && s.order != c.steps[i-1].order {
			prev, cur = cur, nil
		}
		cur = append(cur, s)
		if s.explicitDep {
			continue // its dependencies say what it waits for
		}
		for _, p := range prev {
			if !reaches(s, p, map[*step]bool{}) && !reaches(p, s, map[*step]bool{}) {
				s.dependsOn = append(s.dependsOn, p)
			}
		}
	}
}

// reaches reports whether to is upstream of from.
func reaches(from, to *step, seen map[*step]bool) bool {
	if seen[from] {
		return false
	}
	seen[from] = true
	for _, list := range [][]*step{from.refs, from.dependsOn} {
		for _, u := range list {
			if u == to || reaches(u, to, seen) {
				return true
			}
		}
	}
	return false
}

// render writes the HCL file: variables, registries, clusters, then steps.
func (c *converter) render(p *pipeline) []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	header := "Converted by `ansflow convert` from " + filepath.Base(c.filename)
	if p.name != "" {
		header += fmt.Sprintf(" (pipeline %q)", p.name)
	}
	body.AppendUnstructuredTokens(comment(header + "."))
	for _, line := range strings.Split(strings.TrimSpace(p.description), "\n") {
		if line != "" {
			body.AppendUnstructuredTokens(comment(line))
		}
	}
	for _, v := range c.varOrder {
		body.AppendNewline()
		b := body.AppendNewBlock("variable", []string{v.name})
		b.Body().SetAttributeRaw("type", typeTokens(v.typ))
		if v.sensitive {
			b.Body().SetAttributeValue("sensitive", cty.True)
		}
	}
	for _, r := range c.registries {
		renderConnection(body, "registry", r)
	}
	for _, cl := range c.clusters {
		renderConnection(body, "cluster", cl)
	}
	for _, nb := range c.notifies {
		renderNotify(body, nb)
	}
	for _, s := range c.steps {
		body.AppendNewline()
		body.AppendUnstructuredTokens(comment(stepHeader(s)))
		for _, line := range strings.Split(strings.TrimSpace(s.description), "\n") {
			if line != "" {
				body.AppendUnstructuredTokens(comment(line))
			}
		}
		renderStep(body.AppendNewBlock(s.typ, []string{s.label}).Body(), s)
	}
	return hclwrite.Format(f.Bytes())
}

func renderConnection(body *hclwrite.Body, typ string, conn *connection) {
	body.AppendNewline()
	b := body.AppendNewBlock(typ, []string{conn.name}).Body()
	if conn.comment != "" {
		b.AppendUnstructuredTokens(comment(conn.comment))
	}
	for _, a := range conn.attrs {
		b.SetAttributeRaw(a.name, a.toks)
	}
}

// renderStep writes when first, then the inputs in schema order, then
// timeout and depends_on.
func renderStep(b *hclwrite.Body, s *step) {
	if s.when != nil {
		b.SetAttributeRaw("when", s.when)
	}
	for _, name := range inputOrder(s.typ) {
		if toks, ok := s.attrs[name]; ok {
			b.SetAttributeRaw(name, toks)
		}
	}
	if s.timeout != nil {
		b.SetAttributeRaw("timeout", s.timeout)
	}
	if s.continueOn {
		b.SetAttributeValue("continue_on_error", cty.True)
	}
	if len(s.dependsOn) > 0 {
		elems := make([]hclwrite.Tokens, len(s.dependsOn))
		for i, d := range s.dependsOn {
			elems[i] = hclwrite.TokensForTraversal(traversal(d.typ, d.label))
		}
		b.SetAttributeRaw("depends_on", hclwrite.TokensForTuple(elems))
	}
	if s.retry != nil {
		b.AppendNewline()
		r := b.AppendNewBlock("retry", nil).Body()
		r.SetAttributeRaw("attempts", number(s.retry.attempts))
		if s.retry.delay != nil {
			r.SetAttributeRaw("delay", s.retry.delay)
		}
	}
	renderExtras(b, s)
}

// stepHeader is the comment above a step's block: its AnsFlow name, type
// when it changed, order and parallel group.
func stepHeader(s *step) string {
	h := fmt.Sprintf("%s (order %d", s.name, s.order)
	if s.srcType != s.typ {
		h += ", AnsFlow step_type " + s.srcType
	}
	if s.group != "" {
		h += ", parallel group " + s.group
	}
	return h + ")"
}

// comment is a # comment line.
func comment(text string) hclwrite.Tokens {
	return hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte("# " + text + "\n")}}
}

// typeTokens renders a type constraint: string, number, list(string).
func typeTokens(typ string) hclwrite.Tokens {
	if elem, ok := strings.CutPrefix(typ, "list("); ok {
		return hclwrite.TokensForFunctionCall("list", typeTokens(strings.TrimSuffix(elem, ")")))
	}
	return hclwrite.TokensForIdentifier(typ)
}

// inputOrder lists the inputs of step type typ in schema order.
func inputOrder(typ string) []string {
	schema := builtin.Schemas().Lookup(typ)
	if schema == nil {
		return helmReleaseInputs
	}
	names := make([]string, len(schema.Inputs))
	for i, in := range schema.Inputs {
		names[i] = in.Name
	}
	return names
}
