package config

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyyaml "github.com/zclconf/go-cty-yaml"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/ansflow/ansflow/internal/safefile"
)

// Functions returns the functions available in pipeline expressions. File
// functions resolve relative paths against baseDir (path.root). env() is
// added by the Scope, which knows how to read the environment.
func Functions(baseDir string) map[string]function.Function {
	fs := map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"alltrue":         allTrueFunc,
		"anytrue":         anyTrueFunc,
		"base64decode":    base64DecodeFunc,
		"base64encode":    base64EncodeFunc,
		"can":             tryfunc.CanFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"csvdecode":       stdlib.CSVDecodeFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"endswith":        endsWithFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          stdlib.IndentFunc,
		"index":           stdlib.IndexFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          stdlib.LengthFunc,
		"log":             stdlib.LogFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"md5":             hashFunc(func(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }),
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"pow":             stdlib.PowFunc,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"sha256":          hashFunc(func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }),
		"signum":          stdlib.SignumFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"startswith":      startsWithFunc,
		"strlen":          stdlib.StrlenFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"tobool":          stdlib.MakeToFunc(cty.Bool),
		"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":        stdlib.MakeToFunc(cty.Number),
		"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":        stdlib.MakeToFunc(cty.String),
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"try":             tryfunc.TryFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"yamldecode":      ctyyaml.YAMLDecodeFunc,
		"yamldecode_all":  yamlDecodeAllFunc,
		"yamlencode":      ctyyaml.YAMLEncodeFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
	fs["file"] = fileFunc(baseDir)
	fs["fileexists"] = fileExistsFunc(baseDir)
	fs["filesha256"] = fileHashFunc(baseDir, func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) })
	fs["filebase64"] = fileHashFunc(baseDir, base64.StdEncoding.EncodeToString)
	fs["templatefile"] = templateFileFunc(baseDir, fs)
	limitFunctions(fs)
	return fs
}

// envFunctionName is provided by the Scope rather than Functions.
const envFunctionName = "env"

// functionNames lists every function name, for suggestions.
func functionNames() []string {
	names := sortedKeys(Functions(""))
	names = append(names, envFunctionName)
	sort.Strings(names)
	return names
}

// knownFunctions is the set of function names; read-only after init.
var knownFunctions = func() map[string]bool {
	m := map[string]bool{envFunctionName: true}
	for n := range Functions("") {
		m[n] = true
	}
	return m
}()

func isKnownFunction(name string) bool { return knownFunctions[name] }

// envFunc returns env(name [, default]): the value of an environment
// variable, the default (or "") when it is unset.
func envFunc(getenv func(string) (string, bool)) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of the environment variable name, or default (\"\" when not given) when it is unset.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam:    &function.Parameter{Name: "default", Type: cty.String},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "env takes a name and an optional default")
			}
			if getenv != nil {
				if v, ok := getenv(args[0].AsString()); ok {
					return cty.StringVal(v), nil
				}
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return cty.StringVal(""), nil
		},
	})
}

func stringPredicate(desc string, f func(s, affix string) bool) function.Function {
	return function.New(&function.Spec{
		Description: desc,
		Params:      []function.Parameter{{Name: "str", Type: cty.String}, {Name: "affix", Type: cty.String}},
		Type:        function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(f(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

var (
	startsWithFunc = stringPredicate("Reports whether str begins with prefix.", strings.HasPrefix)
	endsWithFunc   = stringPredicate("Reports whether str ends with suffix.", strings.HasSuffix)
)

func boolListFunc(desc string, all bool) function.Function {
	return function.New(&function.Spec{
		Description: desc,
		Params:      []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:        function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			for it := args[0].ElementIterator(); it.Next(); {
				_, v := it.Element()
				if v.IsNull() {
					continue
				}
				if v.True() != all {
					return cty.BoolVal(!all), nil
				}
			}
			return cty.BoolVal(all), nil
		},
	})
}

var (
	allTrueFunc = boolListFunc("Reports whether every element of the list is true.", true)
	anyTrueFunc = boolListFunc("Reports whether any element of the list is true.", false)
)

var base64EncodeFunc = function.New(&function.Spec{
	Description: "Encodes a string with standard base64.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(args[0].AsString()))), nil
	},
})

var base64DecodeFunc = function.New(&function.Spec{
	Description: "Decodes a standard base64 string that holds UTF-8 text.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		b, err := base64.StdEncoding.DecodeString(args[0].AsString())
		if err != nil {
			return cty.NilVal, function.NewArgErrorf(0, "the string is not valid base64")
		}
		if !utf8.Valid(b) {
			return cty.NilVal, function.NewArgErrorf(0, "the decoded bytes are not UTF-8 text")
		}
		return cty.StringVal(string(b)), nil
	},
})

func hashFunc(sum func([]byte) string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the hex digest of a string.",
		Params:      []function.Parameter{{Name: "str", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(sum([]byte(args[0].AsString()))), nil
		},
	})
}

// resolvePath makes path absolute against baseDir, expanding a leading ~/.
func resolvePath(baseDir, path string) string {
	if strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[2:])
		}
	}
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(baseDir, path)
}

// readFile reads the file for a file function, with an error that tells the
// user what went wrong without Go internals.
func readFile(baseDir, path string) ([]byte, error) {
	b, _, err := safefile.Read(resolvePath(baseDir, path), safefile.FunctionLimit)
	var refused *safefile.Error
	switch {
	case os.IsNotExist(err):
		return nil, function.NewArgErrorf(0, "no file exists at %q (relative paths start at the pipeline directory)", path)
	case errors.As(err, &refused):
		return nil, function.NewArgErrorf(0, "cannot read %q: it %s; %s", path, refused.Problem, refused.Fix)
	case err != nil:
		return nil, function.NewArgErrorf(0, "cannot read %q; check that it is a readable file", path)
	}
	return b, nil
}

func fileFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a UTF-8 text file; relative paths start at the pipeline directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			b, err := readFile(baseDir, args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			if !utf8.Valid(b) {
				return cty.NilVal, function.NewArgErrorf(0, "%q is not UTF-8 text; use filebase64 for binary files", args[0].AsString())
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

func fileExistsFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Description: "Reports whether a regular file exists at path.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			fi, err := os.Stat(resolvePath(baseDir, args[0].AsString()))
			return cty.BoolVal(err == nil && fi.Mode().IsRegular()), nil
		},
	})
}

func fileHashFunc(baseDir string, sum func([]byte) string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns a digest or encoding of a file's contents.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			b, err := readFile(baseDir, args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(sum(b)), nil
		},
	})
}

// templateFileFunc renders a file as an HCL string template with the given
// variables and the other functions (but not templatefile itself).
func templateFileFunc(baseDir string, funcs map[string]function.Function) function.Function {
	render := func(args []cty.Value) (cty.Value, error) {
		path := args[0].AsString()
		src, err := readFile(baseDir, path)
		if err != nil {
			return cty.NilVal, err
		}
		if d := checkDepth(src, path, true); d != nil {
			return cty.NilVal, function.NewArgErrorf(0, "%q is not a valid template: %s", path, d.Detail)
		}
		expr, diags := hclsyntax.ParseTemplate(src, path, hcl.InitialPos)
		if diags.HasErrors() {
			return cty.NilVal, function.NewArgErrorf(0, "%q is not a valid template: %s", path, diags[0].Error())
		}
		vars := args[1]
		if !vars.Type().IsObjectType() && !vars.Type().IsMapType() {
			return cty.NilVal, function.NewArgErrorf(1, "template variables must be a map or object, such as { name = \"x\" }")
		}
		if !vars.IsWhollyKnown() {
			return cty.UnknownVal(cty.String), nil
		}
		ctxVars := map[string]cty.Value{}
		for it := vars.ElementIterator(); it.Next(); {
			k, v := it.Element()
			if !hclsyntax.ValidIdentifier(k.AsString()) {
				return cty.NilVal, function.NewArgErrorf(1, "template variable name %q is not a valid identifier", k.AsString())
			}
			ctxVars[k.AsString()] = v
		}
		inner := make(map[string]function.Function, len(funcs))
		for n, f := range funcs {
			if n != "templatefile" {
				inner[n] = f
			}
		}
		val, diags := expr.Value(&hcl.EvalContext{Variables: ctxVars, Functions: inner})
		if diags.HasErrors() {
			return cty.NilVal, function.NewArgErrorf(0, "rendering %q: %s", path, diags[0].Error())
		}
		str, err := convert.Convert(val, cty.String)
		if err != nil {
			return cty.NilVal, function.NewArgErrorf(0, "the template %q must produce a string; wrap the result in jsonencode() or yamlencode()", path)
		}
		return str, nil
	}
	return function.New(&function.Spec{
		Description: "Renders a template file with the given variables; relative paths start at the pipeline directory.",
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType, AllowMarked: true},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			vars, marks := args[1].UnmarkDeepWithPaths()
			val, err := render([]cty.Value{args[0], vars})
			if err != nil {
				return cty.NilVal, err
			}
			if len(marks) > 0 {
				// Anything in the output may come from a marked variable.
				for _, pm := range marks {
					val = val.WithMarks(pm.Marks)
				}
			}
			return val, nil
		},
	})
}
