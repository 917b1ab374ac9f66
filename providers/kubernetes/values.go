package kubernetes

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// attrs reads attributes of a wholly known cty object of a step's input
// type. A null attribute reads as the zero value. Type mismatches are
// programming errors (the engine converts inputs to the schema) and panic.
type attrs struct{ v cty.Value }

func (a attrs) get(name string) cty.Value {
	if a.v.IsNull() || !a.v.Type().IsObjectType() || !a.v.Type().HasAttribute(name) {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return a.v.GetAttr(name)
}

func (a attrs) isSet(name string) bool { return !a.get(name).IsNull() }

func (a attrs) str(name string) string {
	v := a.get(name)
	if v.IsNull() {
		return ""
	}
	return v.AsString()
}

// int returns the attribute as an int64 and whether it was set.
func (a attrs) int(name string) (int64, bool) {
	v := a.get(name)
	if v.IsNull() {
		return 0, false
	}
	return bigInt(v.AsBigFloat()), true
}

func (a attrs) boolean(name string) bool {
	v := a.get(name)
	return !v.IsNull() && v.True()
}

func (a attrs) strList(name string) []string {
	v := a.get(name)
	if v.IsNull() {
		return nil
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() {
			out = append(out, e.AsString())
		}
	}
	return out
}

func (a attrs) strMap(name string) map[string]string {
	v := a.get(name)
	if v.IsNull() {
		return nil
	}
	out := make(map[string]string, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsNull() {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}

func bigInt(f *big.Float) int64 {
	i, _ := f.Int64()
	return i
}

// sortedKeys returns the keys of m in order, for deterministic objects.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// strOrNull converts s to a cty string, "" to null.
func strOrNull(s string) cty.Value {
	if s == "" {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(s)
}

// stringList converts ss to a cty list of strings (an empty list for none).
func stringList(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

// capped keeps at most limit bytes written to it and remembers whether more came.
type capped struct {
	buf       []byte
	limit     int
	truncated bool
}

// maxOutput caps stdout/stderr/logs outputs (the full text is in the step's log).
const maxOutput = 1 << 20

func newCapped() *capped { return &capped{limit: maxOutput} }

func (c *capped) Write(p []byte) (int, error) {
	room := c.limit - len(c.buf)
	if room < len(p) {
		c.truncated = true
		if room > 0 {
			c.buf = append(c.buf, p[:room]...)
		}
		return len(p), nil
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *capped) String() string { return string(c.buf) }

// plural returns "1 pod" / "2 pods".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func lower(s string) string { return strings.ToLower(s) }
