package config

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"go.yaml.in/yaml/v3"
)

// Limits on what one function call may produce, so that a hostile
// pipeline (setproduct of four 100-element lists, a YAML "billion laughs",
// range(1e12), format("%999999999d")) gets a diagnostic instead of running
// out of memory.
const (
	// MaxFunctionElements bounds the elements (collection members, at
	// every depth) of a function result and of a decoded document.
	MaxFunctionElements = 1_000_000
	// MaxFunctionBytes bounds the total length of the strings of a
	// function result.
	MaxFunctionBytes = 64 << 20
	// maxFormatWidth bounds a width or precision in a format verb.
	maxFormatWidth = 1 << 20
)

// limitFunctions wraps every function so that its result is checked
// against the limits, and the functions whose work grows faster than
// their arguments check those first.
func limitFunctions(fs map[string]function.Function) {
	for name, f := range fs {
		fs[name] = limited(name, f)
	}
}

func limited(name string, f function.Function) function.Function {
	pre := preChecks[name]
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      f.Params(),
		VarParam:    f.VarParam(),
		Type:        f.ReturnTypeForValues,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if pre != nil {
				if err := pre(args); err != nil {
					return cty.NilVal, err
				}
			}
			v, err := f.Call(args)
			if err != nil {
				return v, err
			}
			if err := checkResultSize(name, v); err != nil {
				return cty.NilVal, err
			}
			return v, nil
		},
	})
}

// preChecks are the checks made before calling a function.
var preChecks = map[string]func(args []cty.Value) error{
	"setproduct": func(args []cty.Value) error {
		n := big.NewInt(1)
		for _, a := range args {
			if !a.IsKnown() || a.IsNull() || !a.CanIterateElements() {
				return nil
			}
			n.Mul(n, big.NewInt(int64(a.LengthInt())))
		}
		n.Mul(n, big.NewInt(int64(len(args))+1))
		if n.Cmp(big.NewInt(MaxFunctionElements)) > 0 {
			return fmt.Errorf("the product would have %s elements, more than the %d a function may make; use smaller sets", n, MaxFunctionElements)
		}
		return nil
	},
	"range": func(args []cty.Value) error {
		var start, end, step float64 = 0, 0, 1
		nums := make([]float64, len(args))
		for i, a := range args {
			if !a.IsKnown() || a.IsNull() || a.Type() != cty.Number {
				return nil
			}
			nums[i], _ = a.AsBigFloat().Float64()
		}
		switch len(nums) {
		case 1:
			end = nums[0]
		case 2:
			start, end = nums[0], nums[1]
		case 3:
			start, end, step = nums[0], nums[1], nums[2]
		}
		if step == 0 {
			return nil // range reports it
		}
		if n := (end - start) / step; n > MaxFunctionElements {
			return fmt.Errorf("the range would have %.0f elements, more than the %d a function may make", n, MaxFunctionElements)
		}
		return nil
	},
	"yamldecode": func(args []cty.Value) error { return checkYAMLSize(args[0]) },
	"format":     func(args []cty.Value) error { return checkFormatWidths(args[0]) },
	"formatlist": func(args []cty.Value) error { return checkFormatWidths(args[0]) },
}

var formatWidth = regexp.MustCompile(`%[-+# 0]*(\*|\d+)?(?:\.(\*|\d+))?`)

func checkFormatWidths(spec cty.Value) error {
	if !spec.IsKnown() || spec.IsNull() || spec.Type() != cty.String {
		return nil
	}
	for _, m := range formatWidth.FindAllStringSubmatch(spec.AsString(), -1) {
		for _, w := range m[1:] {
			if n, err := strconv.Atoi(w); w != "" && w != "*" && (err != nil || n > maxFormatWidth) {
				return fmt.Errorf("a width or precision of %s is more than the %d a format may use", w, maxFormatWidth)
			}
		}
	}
	return nil
}

// checkYAMLSize refuses a document whose aliases expand to more than
// MaxFunctionElements nodes (a "billion laughs"), before it is decoded.
func checkYAMLSize(src cty.Value) error {
	if !src.IsKnown() || src.IsNull() || src.Type() != cty.String {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src.AsString()), &doc); err != nil {
		return nil // yamldecode reports it
	}
	memo := map[*yaml.Node]int64{}
	var size func(n *yaml.Node, depth int) int64
	size = func(n *yaml.Node, depth int) int64 {
		if n == nil || depth > maxNesting {
			return MaxFunctionElements + 1
		}
		if s, ok := memo[n]; ok {
			return s
		}
		memo[n] = MaxFunctionElements + 1 // a cycle counts as too big
		var s int64 = 1
		if n.Kind == yaml.AliasNode {
			s = size(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			if s += size(c, depth+1); s > MaxFunctionElements {
				break
			}
		}
		memo[n] = s
		return s
	}
	if n := size(&doc, 0); n > MaxFunctionElements {
		return fmt.Errorf("the document expands to more than %d values (aliases repeat what they point at); simplify it", MaxFunctionElements)
	}
	return nil
}

// checkResultSize reports a result over the limits.
func checkResultSize(name string, v cty.Value) error {
	var elems, bytes int64
	var walk func(v cty.Value) bool
	walk = func(v cty.Value) bool {
		v, _ = v.Unmark()
		if !v.IsKnown() || v.IsNull() {
			return true
		}
		switch t := v.Type(); {
		case t == cty.String:
			bytes += int64(len(v.AsString()))
		case t.IsObjectType() || t.IsMapType() || t.IsListType() || t.IsTupleType() || t.IsSetType():
			for it := v.ElementIterator(); it.Next(); {
				elems++
				_, ev := it.Element()
				if elems > MaxFunctionElements || !walk(ev) {
					return false
				}
			}
		}
		return bytes <= MaxFunctionBytes
	}
	if !walk(v) || elems > MaxFunctionElements {
		return fmt.Errorf("the result of %s is too large (more than %d elements or %d MiB of text); use smaller inputs", name, MaxFunctionElements, MaxFunctionBytes>>20)
	}
	return nil
}
