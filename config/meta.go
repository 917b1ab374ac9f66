package config

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// The functions in this file check evaluated meta-argument values. Load
// uses them on constant expressions and EvalStep on every value, so both
// report the same diagnostics.

func metaError(summary, detail string, rng hcl.Range) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()}}
}

// knownMeta rejects values that are unknown (known only after apply) or
// null, and strips marks: meta-arguments are not secret.
func knownMeta(v cty.Value, name string, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		return v, metaError(fmt.Sprintf("Invalid %s argument", name),
			fmt.Sprintf("The %s value depends on values known only after apply, such as step results; use variables, locals or built-in values such as git.branch instead.", name), rng)
	}
	if v.IsNull() {
		return v, metaError(fmt.Sprintf("Invalid %s argument", name),
			fmt.Sprintf("The %s value is null; give it a value or remove the argument.", name), rng)
	}
	return v, nil
}

// boolMeta checks when and continue_on_error.
func boolMeta(v cty.Value, name string, rng hcl.Range) (bool, hcl.Diagnostics) {
	v, diags := knownMeta(v, name, rng)
	if diags.HasErrors() {
		return false, diags
	}
	b, err := convert.Convert(v, cty.Bool)
	if err != nil {
		return false, metaError(fmt.Sprintf("Invalid %s argument", name),
			fmt.Sprintf("The %s value must be true or false, but it is %s; use a comparison such as git.branch == \"main\".", name, typeDescription(v.Type())), rng)
	}
	return b.True(), nil
}

// durationMeta checks timeout and retry delay: a Go duration string
// ("300s", "5m", "1h30m") or a number of seconds.
func durationMeta(v cty.Value, name string, rng hcl.Range) (time.Duration, hcl.Diagnostics) {
	v, diags := knownMeta(v, name, rng)
	if diags.HasErrors() {
		return 0, diags
	}
	summary := "Invalid " + name
	switch v.Type() {
	case cty.Number:
		f, _ := v.AsBigFloat().Float64()
		if f < 0 || math.IsInf(f, 0) || f > math.MaxInt64/float64(time.Second) {
			return 0, metaError(summary, fmt.Sprintf("The %s must be a positive number of seconds or a duration string such as \"300s\".", name), rng)
		}
		return time.Duration(f * float64(time.Second)), nil
	case cty.String:
		d, err := time.ParseDuration(v.AsString())
		if err != nil || d < 0 {
			return 0, metaError(summary, fmt.Sprintf("%q is not a duration; write it like \"300s\", \"5m\" or \"1h30m\".", v.AsString()), rng)
		}
		return d, nil
	}
	return 0, metaError(summary, fmt.Sprintf("The %s must be a duration string such as \"300s\" or \"5m\", not %s.", name, v.Type().FriendlyName()), rng)
}

// attemptsMeta checks retry attempts: a whole number, at least 1.
func attemptsMeta(v cty.Value, rng hcl.Range) (int, hcl.Diagnostics) {
	v, diags := knownMeta(v, "attempts", rng)
	if diags.HasErrors() {
		return 0, diags
	}
	n, err := convert.Convert(v, cty.Number)
	if err == nil {
		if i, acc := n.AsBigFloat().Int64(); acc == big.Exact && i >= 1 && i <= 1000000 {
			return int(i), nil
		}
	}
	return 0, metaError("Invalid retry attempts",
		"attempts is the total number of tries and must be a whole number of at least 1; use 1 for no retries.", rng)
}

// backoffMeta checks the retry backoff multiplier: a number, at least 1.
func backoffMeta(v cty.Value, rng hcl.Range) (float64, hcl.Diagnostics) {
	v, diags := knownMeta(v, "backoff", rng)
	if diags.HasErrors() {
		return 0, diags
	}
	n, err := convert.Convert(v, cty.Number)
	if err == nil {
		if f, _ := n.AsBigFloat().Float64(); f >= 1 && !math.IsInf(f, 0) {
			return f, nil
		}
	}
	return 0, metaError("Invalid retry backoff",
		"backoff multiplies the delay after each attempt and must be a number of at least 1; use 1 for a constant delay.", rng)
}

// forEachInstances checks a for_each value and returns its sorted keys and
// the each.value of every key. A map (or object) gives its keys and values;
// a set of strings gives its elements as both.
func forEachInstances(v cty.Value, rng hcl.Range) ([]string, map[string]cty.Value, hcl.Diagnostics) {
	const summary = "Invalid for_each argument"
	if v.IsMarked() {
		if _, marks := v.Unmark(); len(marks) > 0 {
			return nil, nil, metaError(summary, "The for_each value is sensitive, and instance keys are shown in plans; use a non-sensitive value, or nonsensitive keys with the secrets in each.value of a map.", rng)
		}
	}
	if !v.IsKnown() {
		return nil, nil, metaError(summary, "The for_each value depends on values known only after apply, such as step results; build it from variables and locals instead.", rng)
	}
	if v.IsNull() {
		return nil, nil, metaError(summary, "The for_each value is null; use a map, or a set of strings such as toset([\"a\", \"b\"]).", rng)
	}
	ty := v.Type()
	switch {
	case ty.IsMapType() || ty.IsObjectType():
		keys := make([]string, 0, v.LengthInt())
		values := make(map[string]cty.Value, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			keys = append(keys, k.AsString())
			values[k.AsString()] = val
		}
		sort.Strings(keys)
		return keys, values, nil
	case ty.IsSetType():
		if !ty.ElementType().Equals(cty.String) {
			return nil, nil, metaError(summary, fmt.Sprintf("for_each needs a set of strings, but this is a set of %s; convert the elements with tostring().", ty.ElementType().FriendlyName()), rng)
		}
		if !v.IsWhollyKnown() {
			return nil, nil, metaError(summary, "The for_each set contains values known only after apply; build it from variables and locals instead.", rng)
		}
		keys := make([]string, 0, v.LengthInt())
		values := make(map[string]cty.Value, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, el := it.Element()
			if el.IsMarked() {
				return nil, nil, metaError(summary, "The for_each set contains sensitive values, and instance keys are shown in plans; use non-sensitive keys.", rng)
			}
			if el.IsNull() {
				return nil, nil, metaError(summary, "The for_each set contains null; remove it, since every instance needs a key.", rng)
			}
			keys = append(keys, el.AsString())
			values[el.AsString()] = el
		}
		sort.Strings(keys)
		return keys, values, nil
	case ty.IsListType() || ty.IsTupleType():
		return nil, nil, metaError(summary, "for_each needs a map or a set of strings, but this is a list; wrap it in toset(...) to use its elements as keys.", rng)
	}
	return nil, nil, metaError(summary, fmt.Sprintf("for_each needs a map or a set of strings such as toset([\"a\", \"b\"]), but this is %s.", typeDescription(ty)), rng)
}
