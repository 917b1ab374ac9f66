package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/ansflow/ansflow/internal/safefile"
)

// EnvVarPrefix starts the names of environment variables that set pipeline
// variables: ANSFLOW_VAR_<name>.
const EnvVarPrefix = "ANSFLOW_VAR_"

// VarArg is one -var name=value (Name and Value) or -var-file FILE (File)
// from the command line.
type VarArg struct {
	Name, Value string
	File        string
}

// VarInputs are the sources of variable values besides defaults and
// *.auto.vars.hcl files.
type VarInputs struct {
	Args    []VarArg // -var and -var-file in command-line order
	Environ []string // os.Environ() form; ANSFLOW_VAR_<name> entries are used
}

// varValue is a value given for a variable and where it came from.
type varValue struct {
	val    cty.Value
	source string     // for messages: `-var "name=..."`, `file x.vars.hcl`
	rng    *hcl.Range // in a file, when the value came from one
}

// varResolver collects values in precedence order; later ones win.
type varResolver struct {
	p    *Pipeline
	vals map[string]varValue
	// invalid are variables given a value that was rejected; they are not
	// also reported as missing.
	invalid map[string]bool
	diags   hcl.Diagnostics
}

// ResolveVariables determines the value of every declared variable. The
// precedence is Terraform's: defaults, then ANSFLOW_VAR_* environment
// variables, then *.auto.vars.hcl files in the pipeline directory (in name
// order), then -var and -var-file in command-line order. Values are
// converted to the declared types and checked by validation blocks;
// sensitive variables' values are marked Sensitive.
func (p *Pipeline) ResolveVariables(in VarInputs) (map[string]cty.Value, hcl.Diagnostics) {
	r := &varResolver{p: p, vals: map[string]varValue{}, invalid: map[string]bool{}}
	for name, v := range p.Variables {
		if v.HasDefault {
			r.vals[name] = varValue{val: v.Default, source: "its default"}
		}
	}
	r.readEnviron(in.Environ)
	for _, f := range r.autoFiles() {
		r.readFile(f)
	}
	for _, a := range in.Args {
		if a.File != "" {
			r.readFile(a.File)
			continue
		}
		r.setRaw(a.Name, a.Value, fmt.Sprintf("-var %q", a.Name+"=..."), true)
	}
	return r.finish()
}

// readEnviron takes values from ANSFLOW_VAR_<name> environment entries.
func (r *varResolver) readEnviron(environ []string) {
	for _, kv := range environ {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		name, ok := strings.CutPrefix(k, EnvVarPrefix)
		if !ok || r.p.Variables[name] == nil {
			continue // other programs' variables are none of our business
		}
		r.setRaw(name, val, "environment variable "+k, false)
	}
}

// autoFiles lists the *.auto.vars.hcl files of the pipeline directory.
func (r *varResolver) autoFiles() []string {
	entries, err := os.ReadDir(r.p.Dir)
	if err != nil {
		return nil
	}
	dir := r.p.dirArg
	if dir == "" {
		dir = r.p.Dir
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".auto.vars.hcl") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files
}

// setRaw sets a variable from a command-line or environment string.
func (r *varResolver) setRaw(name, raw, source string, fromCLI bool) {
	v := r.p.Variables[name]
	if v == nil {
		if fromCLI {
			rng := hcl.Range{Filename: "<value for var." + name + ">", Start: hcl.InitialPos, End: hcl.Pos{Line: 1, Column: 1 + len(raw), Byte: len(raw)}}
			r.diags = append(r.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("A value was given for %q with -var, but the pipeline declares no such variable; declare it with a variable block or remove the option.%s", name, didYouMean(name, sortedKeys(r.p.Variables))),
				Subject:  &rng,
			})
		}
		return
	}
	val, err := parseRawValue(v, raw)
	if err != nil {
		r.diags = append(r.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value from %s is not valid for variable %q: %s; give a value of type %s.", source, name, convertErrorText(err), typeexpr.TypeString(v.Type)),
			Subject:  v.DeclRange.Ptr(),
		})
		r.invalid[name] = true
		return
	}
	r.vals[name] = varValue{val: val, source: source}
}

// parseRawValue interprets a -var or environment string like Terraform:
// primitive types take it as a literal string; other types parse it as an
// HCL value, and an untyped variable falls back to the raw string.
func parseRawValue(v *Variable, raw string) (cty.Value, error) {
	if v.Type.IsPrimitiveType() {
		return convert.Convert(cty.StringVal(raw), v.Type)
	}
	if d := checkDepth([]byte(raw), "", false); d != nil {
		return cty.NilVal, fmt.Errorf("it nests more than %d levels deep; flatten it", maxNesting)
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), "", hcl.InitialPos)
	if !diags.HasErrors() && len(expr.Variables()) == 0 {
		if val, d := expr.Value(nil); !d.HasErrors() {
			cv, err := convertVariable(v, val)
			if err == nil || v.Type != cty.DynamicPseudoType {
				return cv, err
			}
		}
	}
	if v.Type == cty.DynamicPseudoType {
		return cty.StringVal(raw), nil
	}
	return cty.NilVal, fmt.Errorf("it is not an HCL value such as [\"a\"] or { k = \"v\" }")
}

// readFile reads a variable-values file of name = value attributes.
func (r *varResolver) readFile(filename string) {
	src, _, err := safefile.Read(filename, safefile.ConfigLimit)
	if err != nil {
		r.diags = append(r.diags, dirError(filename, "Cannot read variables file",
			fmt.Sprintf("The variables file %q cannot be read (%v); check the path given to -var-file.", filename, readProblem(err))))
		return
	}
	if d := checkDepth(src, filename, false); d != nil {
		r.diags = append(r.diags, d)
		return
	}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	r.diags = append(r.diags, diags...)
	if diags.HasErrors() {
		return
	}
	body := f.Body.(*hclsyntax.Body)
	for _, b := range body.Blocks {
		r.diags = append(r.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unexpected block in variables file",
			Detail:   "A variables file holds only name = value assignments; move blocks into the pipeline files.",
			Subject:  b.TypeRange.Ptr(),
		})
	}
	for _, a := range sortedAttrs(body) {
		r.setFromFile(filename, a)
	}
}

// setFromFile sets a variable from one name = value line of a file.
func (r *varResolver) setFromFile(filename string, a *hclsyntax.Attribute) {
	v := r.p.Variables[a.Name]
	if v == nil {
		r.diags = append(r.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Value for undeclared variable",
			Detail:   fmt.Sprintf("The file sets %q, but the pipeline declares no such variable; declare it with a variable block or remove the line.%s", a.Name, didYouMean(a.Name, sortedKeys(r.p.Variables))),
			Subject:  a.NameRange.Ptr(),
		})
		return
	}
	if vars := a.Expr.Variables(); len(vars) > 0 {
		r.diags = append(r.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Variables not allowed",
			Detail:   "Values in a variables file must be constants; write the value itself.",
			Subject:  vars[0].SourceRange().Ptr(),
		})
		return
	}
	val, diags := a.Expr.Value(nil)
	r.diags = append(r.diags, diags...)
	if diags.HasErrors() {
		r.invalid[a.Name] = true
		return
	}
	cv, err := convertVariable(v, val)
	if err != nil {
		r.invalid[a.Name] = true
		r.diags = append(r.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value for variable %q in %s is not valid: %s; give a value of type %s.", a.Name, filename, convertErrorText(err), typeexpr.TypeString(v.Type)),
			Subject:  a.Expr.Range().Ptr(),
		})
		return
	}
	rng := a.Expr.Range()
	r.vals[a.Name] = varValue{val: cv, source: "file " + filename, rng: &rng}
}

// finish reports missing values, runs validations and applies marks.
func (r *varResolver) finish() (map[string]cty.Value, hcl.Diagnostics) {
	out := make(map[string]cty.Value, len(r.p.Variables))
	funcs := Functions(r.p.Dir)
	for _, name := range sortedKeys(r.p.Variables) {
		v := r.p.Variables[name]
		given, ok := r.vals[name]
		if !ok && r.invalid[name] {
			out[name] = cty.UnknownVal(v.Type.WithoutOptionalAttributesDeep())
			continue
		}
		if !ok {
			r.diags = append(r.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No value for required variable",
				Detail:   fmt.Sprintf("Variable %q has no default, so give it a value with -var \"%s=...\", a -var-file, a *.auto.vars.hcl file or the %s%s environment variable.", name, name, EnvVarPrefix, name),
				Subject:  v.DeclRange.Ptr(),
			})
			out[name] = cty.UnknownVal(v.Type.WithoutOptionalAttributesDeep())
			continue
		}
		val, d := finishVariable(v, given, funcs)
		r.diags = append(r.diags, d...)
		if v.Sensitive {
			r.warnShortSecret(v, given)
		}
		out[name] = val
	}
	return out, r.diags
}

// finishVariable runs the validation blocks of v against a given value
// (already of its type) and marks it Sensitive when v is: the same for a
// root variable and for a module's variable.
func finishVariable(v *Variable, given varValue, funcs map[string]function.Function) (cty.Value, hcl.Diagnostics) {
	diags := validateVariable(v, given, funcs)
	if v.Sensitive {
		return given.val.Mark(Sensitive), diags
	}
	return given.val, diags
}

// validateVariable runs the validation blocks of v against a given value.
func validateVariable(v *Variable, given varValue, funcs map[string]function.Function) hcl.Diagnostics {
	var diags hcl.Diagnostics
	val := given.val
	if v.Sensitive {
		val = val.Mark(Sensitive)
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{rootVar: cty.ObjectVal(map[string]cty.Value{v.Name: val})},
		Functions: funcs,
	}
	for _, rule := range v.Validations {
		val := rule
		ok, d := val.Condition.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		ok, _ = ok.Unmark()
		if !ok.IsKnown() {
			continue
		}
		okBool, err := convert.Convert(ok, cty.Bool)
		if err != nil || okBool.IsNull() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid validation condition",
				Detail:   "A validation condition must be true or false; write a comparison such as length(var.x) > 0.",
				Subject:  val.Condition.Range().Ptr(),
			})
			continue
		}
		if okBool.True() {
			continue
		}
		msg := "The value is not valid."
		if m, d := val.ErrorMessage.Value(ctx); !d.HasErrors() {
			if ms, err := convert.Convert(m, cty.String); err == nil && ms.IsKnown() && !ms.IsNull() {
				plain, _ := ms.UnmarkDeep()
				msg = redactText(plain.AsString(), sensitiveParts(val.ErrorMessage, ctx, false))
			}
		}
		subject := val.Condition.Range()
		if given.rng != nil {
			subject = *given.rng
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("%s The value of var.%s from %s fails the validation rule at %s; give it a value the rule accepts.", msg, v.Name, given.source, val.DeclRange),
			Subject:  subject.Ptr(),
		})
	}
	return diags
}

// warnShortSecret warns when a sensitive variable holds a string (or
// number) shorter than MinSecretLength: it cannot be redacted from logs
// without blanking out ordinary text, so it is not.
func (r *varResolver) warnShortSecret(v *Variable, given varValue) {
	for _, s := range sensitiveLeaves(given.val.Mark(Sensitive)) {
		if s == "" || len(s) >= MinSecretLength {
			continue
		}
		subject := v.DeclRange
		if given.rng != nil {
			subject = *given.rng
		}
		r.diags = append(r.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Sensitive value too short to redact",
			Detail: fmt.Sprintf("The value of var.%s from %s holds a string of %d characters; secrets shorter than %d characters are not redacted from step logs, "+
				"because that would blank out ordinary text. Use a longer secret.", v.Name, given.source, len(s), MinSecretLength),
			Subject: subject.Ptr(),
		})
		return
	}
}
