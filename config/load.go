package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/internal/safefile"
)

// Top-level block types other than steps.
const (
	blockAnsflow  = "ansflow"
	blockVariable = "variable"
	blockLocals   = "locals"
	blockOutput   = "output"
	blockDocker   = "docker"
	blockRegistry = "registry"
	blockCluster  = "cluster"
)

// Attribute names of the connection blocks, also the attributes of their
// evaluated objects (plus "name" for registries and clusters), and their
// types.
var (
	dockerAttrs   = []string{"host", "tls_verify", "cert_path", "api_version"}
	registryAttrs = []string{"address", "username", "password"}
	clusterAttrs  = []string{"kubeconfig", "context", "namespace"}

	connAttrTypes = map[string]cty.Type{
		"host": cty.String, "tls_verify": cty.Bool, "cert_path": cty.String, "api_version": cty.String,
		"address": cty.String, "username": cty.String, "password": cty.String,
		"kubeconfig": cty.String, "context": cty.String, "namespace": cty.String,
	}
)

// connTypes returns the attribute types of a connection block.
func connTypes(names []string) map[string]cty.Type {
	m := make(map[string]cty.Type, len(names))
	for _, n := range names {
		m[n] = connAttrTypes[n]
	}
	return m
}

// checkConnBody checks a docker, registry or cluster block body.
func (l *loader) checkConnBody(b *hclsyntax.Block, r bodyRule) {
	l.checkBody(b.Body, b.DefRange(), r)
	for _, a := range sortedAttrs(b.Body) {
		if contains(r.attrs, a.Name) {
			l.checkStaticType(a, connAttrTypes[a.Name])
		}
	}
}

// Options are what LoadWith uses besides the pipeline's files.
type Options struct {
	// Modules resolves module sources that are not local paths (git::...,
	// file://...) to the directories `ansflow init` installed them in.
	// Nil: such a source is an error that says to run ansflow init.
	Modules ModuleResolver
	// Schemas are the step types a pipeline may use (builtin.Schemas() in
	// the ansflow binary). Required: LoadWith panics without them, since a
	// pipeline with no step types is a programming error, not bad input.
	Schemas Schemas
}

// ModuleResolver finds the installed copy of a remote module source.
type ModuleResolver interface {
	// ResolveModule returns the local directory holding source, as pinned
	// by the lock file. The error says what to do (run ansflow init, the
	// pin moved, ...) in a sentence.
	ResolveModule(source string) (dir string, err error)
}

// LoadWith parses and statically validates every pipeline file in dir:
// every *.hcl file directly in dir, in name order, except dotfiles and
// *.vars.hcl variable-value files, against the step types in o.Schemas.
// File names in diagnostics are filepath.Join(dir, name).
func LoadWith(dir string, o Options) (*Pipeline, hcl.Diagnostics) {
	if len(o.Schemas) == 0 {
		panic("config: LoadWith needs Options.Schemas (the step types, e.g. builtin.Schemas())")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, hcl.Diagnostics{dirError(dir, "Cannot use the pipeline directory", fmt.Sprintf("The path %q cannot be resolved; check that it exists.", dir))}
	}
	names, diag := pipelineFiles(dir)
	if diag != nil {
		return nil, hcl.Diagnostics{diag}
	}
	l := newLoader(abs, dir)
	l.opts = o
	l.p.Schemas = o.Schemas
	l.p.Path = "."
	l.mod.root = l.p
	for _, name := range names {
		l.parseFile(filepath.Join(dir, name))
	}
	if l.diags.HasErrors() {
		// Decoding a body with syntax errors only adds confusing noise.
		return l.p, limitDiagnostics(l.diags)
	}
	for _, f := range l.files {
		l.decodeFile(f.Body.(*hclsyntax.Body))
	}
	l.loadModules()
	l.checkReferences()
	l.checkMoved()
	return l.p, limitDiagnostics(append(l.diags, l.mod.childDiags...))
}

// pipelineFiles lists the pipeline file names in dir, sorted.
func pipelineFiles(dir string) ([]string, *hcl.Diagnostic) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, dirError(dir, "Cannot read the pipeline directory", fmt.Sprintf("The directory %q cannot be read; check that it exists and is readable, or pass another one with -chdir.", dir))
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".hcl") || strings.HasSuffix(n, ".vars.hcl") {
			continue
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, dirError(dir, "No pipeline files", fmt.Sprintf("The directory %q has no *.hcl files; create one (for example with `ansflow init`) or pass another directory with -chdir.", dir))
	}
	sort.Strings(names)
	return names, nil
}

// dirError is a diagnostic about a file or directory as a whole.
func dirError(dir, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   detail,
		Subject:  &hcl.Range{Filename: dir, Start: hcl.InitialPos, End: hcl.InitialPos},
	}
}

// loader holds the state of one Load call.
type loader struct {
	opts  Options
	mod   moduleContext
	p     *Pipeline
	files []*hcl.File
	diags hcl.Diagnostics

	// Declarations in source order, for the reference pass and for
	// duplicate messages.
	locals      map[string]*hcl.Attribute
	localOrder  []*hclsyntax.Attribute
	outputs     []*hclsyntax.Block
	varOrder    []*Variable
	settings    *hclsyntax.Block
	dockerBlock *hclsyntax.Block
	// stepSources are each step's attributes and retry block, for the
	// reference pass.
	stepSources map[*Step]*stepSource
	// staticKeys are the instance keys of steps whose for_each is a
	// constant, for checking references to instances.
	staticKeys map[*Step][]string
	// attrNames caches the referable attribute names of each step schema.
	attrNames map[*StepSchema]map[string]bool

	// notifyOrder are the notify blocks in source order.
	notifyOrder []*Notify
	// localVarsMemo caches localVars.
	localVarsMemo map[string][]string
}

// stepSource is the syntax of one step block.
type stepSource struct {
	attrs []*hclsyntax.Attribute // meta-arguments and inputs, in source order
	retry *hclsyntax.Block

	approval *hclsyntax.Block
}

func newLoader(abs, dirArg string) *loader {
	return &loader{
		p: &Pipeline{
			Dir:        abs,
			Files:      map[string]*hcl.File{},
			Variables:  map[string]*Variable{},
			Locals:     map[string]*Local{},
			Outputs:    map[string]*Output{},
			Registries: map[string]*Registry{},
			Clusters:   map[string]*Cluster{},
			Steps:      map[string]*Step{},
			dirArg:     dirArg,
		},
		locals:      map[string]*hcl.Attribute{},
		stepSources: map[*Step]*stepSource{},
		attrNames:   map[*StepSchema]map[string]bool{},
		staticKeys:  map[*Step][]string{},

		localVarsMemo: map[string][]string{},
	}
}

// errorf records an error diagnostic.
func (l *loader) errorf(subject hcl.Range, summary, detailFormat string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detailFormat, args...),
		Subject:  subject.Ptr(),
	})
}

// parseFile reads and parses one pipeline file.
func (l *loader) parseFile(filename string) {
	src, _, err := safefile.Read(filename, safefile.ConfigLimit)
	if err != nil {
		l.diags = append(l.diags, dirError(filename, "Cannot read pipeline file", fmt.Sprintf("The file %q cannot be read (%v); check that it is a regular, readable file.", filename, readProblem(err))))
		return
	}
	if d := checkDepth(src, filename, false); d != nil {
		l.diags = append(l.diags, d)
		return
	}
	f, diags := parseConfig(src, filename)
	l.diags = append(l.diags, diags...)
	if f == nil {
		return
	}
	l.p.Files[filename] = f
	l.files = append(l.files, f)
}

// maxNesting bounds how deeply brackets may nest. HCL's parser recurses once
// per level, so a hostile file nested tens of thousands deep would exhaust
// the stack; no real pipeline comes near this.
const maxNesting = 1000

// checkNesting reports brackets nested deeper than maxNesting, skipping
// quoted strings and comments, before the parser sees the file.
func checkNesting(src []byte, filename string) *hcl.Diagnostic {
	depth, line, col := 0, 1, 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		col++
		switch {
		case c == '\n':
			line, col = line+1, 0
		case c == '"':
			for i++; i < len(src) && src[i] != '"' && src[i] != '\n'; i++ {
				col++
				if src[i] == '\\' {
					i++
					col++
				}
			}
		case c == '#' || c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case c == '[' || c == '{' || c == '(':
			depth++
			if depth > maxNesting {
				pos := hcl.Pos{Line: line, Column: col, Byte: i}
				return &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Too deeply nested",
					Detail:   fmt.Sprintf("Brackets are nested more than %d levels deep here; flatten the expression.", maxNesting),
					Subject:  &hcl.Range{Filename: filename, Start: pos, End: hcl.Pos{Line: line, Column: col + 1, Byte: i + 1}},
				}
			}
		case c == ']' || c == '}' || c == ')':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

// topLevelNames are the block types allowed at the top level of a file.
func (l *loader) topLevelNames() []string {
	return append([]string{blockAnsflow, blockVariable, blockLocals, blockOutput, blockDocker, blockRegistry, blockCluster, blockNotify, blockModule, blockMoved}, l.p.Schemas.Names()...)
}

// decodeFile dispatches the top-level blocks of one file.
func (l *loader) decodeFile(body *hclsyntax.Body) {
	for _, a := range sortedAttrs(body) {
		if contains(l.topLevelNames(), a.Name) {
			l.errorf(a.NameRange, "Unsupported argument",
				"%s is a block, not an argument: write %s { ... } without the equals sign.", a.Name, a.Name)
			continue
		}
		l.errorf(a.NameRange, "Unsupported argument",
			"An argument named %q is not expected at the top level of a pipeline file; put values in a locals block or a variable block instead.", a.Name)
	}
	for _, b := range body.Blocks {
		if l.p.IsModule() && rootOnlyBlocks[b.Type] {
			l.rootOnlyBlock(b)
			continue
		}
		switch b.Type {
		case blockModule:
			l.decodeModule(b)
		case blockAnsflow:
			l.decodeSettings(b)
		case blockVariable:
			l.decodeVariable(b)
		case blockLocals:
			l.decodeLocals(b)
		case blockOutput:
			l.decodeOutput(b)
		case blockDocker:
			l.decodeDocker(b)
		case blockRegistry:
			l.decodeRegistry(b)
		case blockCluster:
			l.decodeCluster(b)
		case blockNotify:
			l.decodeNotify(b)
		case blockMoved:
			l.decodeMoved(b)
		default:
			if schema := l.p.Schemas.Lookup(b.Type); schema != nil {
				l.decodeStep(b, schema)
				continue
			}
			l.errorf(b.TypeRange, "Unsupported block type",
				"Blocks of type %q are not expected here.%s", b.Type, hintOrList(b.Type, l.topLevelNames(), "Block types"))
		}
	}
}

// hintOrList returns a did-you-mean hint for given, or else a sentence
// listing the accepted names.
func hintOrList(given string, names []string, what string) string {
	if h := didYouMean(given, names); h != "" {
		return h
	}
	if len(names) == 0 {
		return " Remove it."
	}
	return fmt.Sprintf(" %s accepted here: %s.", what, strings.Join(names, ", "))
}

// sortedAttrs returns the attributes of body in source order.
func sortedAttrs(body *hclsyntax.Body) []*hclsyntax.Attribute {
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	return attrs
}

// checkLabels reports a diagnostic unless b has exactly len(labelNames)
// labels, each a valid identifier when ident is set.
func (l *loader) checkLabels(b *hclsyntax.Block, ident bool, labelNames ...string) bool {
	want := len(labelNames)
	switch {
	case len(b.Labels) < want:
		missing := labelNames[len(b.Labels)]
		l.errorf(b.DefRange(), fmt.Sprintf("Missing %s for %s", missing, b.Type),
			"A %s block needs %d label(s) (%s): write %s.", b.Type, want, strings.Join(labelNames, ", "), blockExample(b.Type, labelNames))
		return false
	case len(b.Labels) > want:
		l.errorf(b.LabelRanges[want], fmt.Sprintf("Extraneous label for %s", b.Type),
			"A %s block takes %d label(s); remove the extra ones: write %s.", b.Type, want, blockExample(b.Type, labelNames))
		return false
	}
	if ident {
		for i, lbl := range b.Labels {
			if !hclsyntax.ValidIdentifier(lbl) {
				l.errorf(b.LabelRanges[i], fmt.Sprintf("Invalid %s %s", b.Type, labelNames[i]),
					"%q cannot be used as a %s: names must start with a letter and contain only letters, digits, underscores and dashes.", lbl, labelNames[i])
				return false
			}
		}
	}
	return true
}

func blockExample(typ string, labelNames []string) string {
	var sb strings.Builder
	sb.WriteString(typ)
	for _, n := range labelNames {
		fmt.Fprintf(&sb, " %q", n)
	}
	sb.WriteString(" { ... }")
	return sb.String()
}

// bodyRule says which attributes and nested blocks a body may contain.
type bodyRule struct {
	where    string   // e.g. `a registry block`
	attrs    []string // accepted attribute names
	required []string // required attribute names
	blocks   []string // accepted nested block types
}

// checkBody reports unknown attributes and blocks (with suggestions) and
// missing required attributes of body.
func (l *loader) checkBody(body *hclsyntax.Body, defRange hcl.Range, r bodyRule) {
	for _, a := range sortedAttrs(body) {
		if !contains(r.attrs, a.Name) {
			l.errorf(a.NameRange, "Unsupported argument",
				"An argument named %q is not expected in %s.%s", a.Name, r.where, hintOrList(a.Name, r.attrs, "Arguments"))
		}
	}
	for _, b := range body.Blocks {
		if !contains(r.blocks, b.Type) {
			l.errorf(b.TypeRange, "Unsupported block type",
				"Blocks of type %q are not expected in %s.%s", b.Type, r.where, hintOrList(b.Type, append(append([]string(nil), r.blocks...), r.attrs...), "Names"))
		}
	}
	for _, name := range r.required {
		if _, ok := body.Attributes[name]; !ok {
			l.errorf(defRange, "Missing required argument",
				"The argument %q is required in %s; add %s = ... to the block.", name, r.where, name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// decodeSettings reads the ansflow { backend "TYPE" { ... } } block.
func (l *loader) decodeSettings(b *hclsyntax.Block) {
	if !l.checkLabels(b, false) {
		return
	}
	if l.settings != nil {
		l.errorf(b.DefRange(), "Duplicate ansflow block",
			"An ansflow block was already declared at %s; merge the two blocks into one.", l.settings.DefRange())
		return
	}
	l.settings = b
	l.checkBody(b.Body, b.DefRange(), bodyRule{where: "the ansflow block", blocks: []string{"backend", "telemetry"}})
	s := &Settings{DeclRange: b.DefRange()}
	for _, nb := range b.Body.Blocks {
		if nb.Type == "telemetry" {
			l.decodeTelemetry(s, nb)
			continue
		}
		if nb.Type != "backend" || !l.checkLabels(nb, false, "type") {
			continue
		}
		if s.Backend != nil {
			l.errorf(nb.DefRange(), "Duplicate backend block",
				"A backend was already configured at %s; keep only one backend block.", s.Backend.DeclRange)
			continue
		}
		s.Backend = &Backend{Type: nb.Labels[0], Config: nb.Body, DeclRange: nb.DefRange()}
	}
	l.p.Settings = s
}

// decodeTelemetry keeps ansflow { telemetry { ... } } for the telemetry
// package to decode.
func (l *loader) decodeTelemetry(s *Settings, b *hclsyntax.Block) {
	if !l.checkLabels(b, false) {
		return
	}
	if s.Telemetry != nil {
		l.errorf(b.DefRange(), "Duplicate telemetry block",
			"Telemetry was already configured at %s; keep only one telemetry block.", s.Telemetry.DeclRange)
		return
	}
	s.Telemetry = &Telemetry{Config: b.Body, DeclRange: b.DefRange()}
}

// decodeLocals reads a locals block; each attribute is one local value.
func (l *loader) decodeLocals(b *hclsyntax.Block) {
	if !l.checkLabels(b, false) {
		return
	}
	for _, nb := range b.Body.Blocks {
		l.errorf(nb.TypeRange, "Unsupported block type",
			"Blocks are not expected in a locals block; define each local value as an argument: name = value.")
	}
	for _, a := range sortedAttrs(b.Body) {
		if prev, ok := l.locals[a.Name]; ok {
			l.errorf(a.NameRange, "Duplicate local value",
				"A local value named %q was already defined at %s; rename or remove one of them.", a.Name, prev.NameRange)
			continue
		}
		l.locals[a.Name] = a.AsHCLAttribute()
		l.localOrder = append(l.localOrder, a)
		l.p.Locals[a.Name] = &Local{Name: a.Name, Expr: a.Expr}
	}
}

// decodeDocker reads the docker connection block.
func (l *loader) decodeDocker(b *hclsyntax.Block) {
	if !l.checkLabels(b, false) {
		return
	}
	if l.dockerBlock != nil {
		l.errorf(b.DefRange(), "Duplicate docker block",
			"A docker block was already declared at %s; keep only one.", l.dockerBlock.DefRange())
		return
	}
	l.dockerBlock = b
	l.checkConnBody(b, bodyRule{where: "the docker block", attrs: dockerAttrs})
	l.p.Docker = &DockerBlock{Config: b.Body, DeclRange: b.DefRange()}
}

// decodeRegistry reads a registry "name" block.
func (l *loader) decodeRegistry(b *hclsyntax.Block) {
	if !l.checkLabels(b, true, "name") {
		return
	}
	name := b.Labels[0]
	if prev, ok := l.p.Registries[name]; ok {
		l.errorf(b.DefRange(), "Duplicate registry",
			"A registry named %q was already declared at %s; rename or remove one of them.", name, prev.DeclRange)
		return
	}
	l.checkConnBody(b, bodyRule{where: "a registry block", attrs: registryAttrs, required: []string{"address"}})
	l.p.Registries[name] = &Registry{Name: name, Config: b.Body, DeclRange: b.DefRange()}
}

// decodeCluster reads a cluster "name" block.
func (l *loader) decodeCluster(b *hclsyntax.Block) {
	if !l.checkLabels(b, true, "name") {
		return
	}
	name := b.Labels[0]
	if prev, ok := l.p.Clusters[name]; ok {
		l.errorf(b.DefRange(), "Duplicate cluster",
			"A cluster named %q was already declared at %s; rename or remove one of them.", name, prev.DeclRange)
		return
	}
	l.checkConnBody(b, bodyRule{where: "a cluster block", attrs: clusterAttrs})
	l.p.Clusters[name] = &Cluster{Name: name, Config: b.Body, DeclRange: b.DefRange()}
}

// readProblem is the short reason a file could not be read.
func readProblem(err error) string {
	var refused *safefile.Error
	if errors.As(err, &refused) {
		return "it " + refused.Problem
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "it does not exist"
	}
	if errors.Is(err, fs.ErrPermission) {
		return "permission denied"
	}
	return err.Error()
}
