package config

import "github.com/zclconf/go-cty/cty"

// valueMark is the type of the cty marks ansflow puts on values.
type valueMark string

// Sensitive marks values that must not be shown: sensitive variables and
// outputs, registry passwords, and everything computed from them. Marks
// propagate through expressions, so test with HasSensitive.
const Sensitive valueMark = "sensitive"

// HasSensitive reports whether v or anything inside it carries the
// Sensitive mark.
func HasSensitive(v cty.Value) bool {
	if v == cty.NilVal {
		return false
	}
	_, pvm := v.UnmarkDeepWithPaths()
	for _, p := range pvm {
		if _, ok := p.Marks[Sensitive]; ok {
			return true
		}
	}
	return false
}
