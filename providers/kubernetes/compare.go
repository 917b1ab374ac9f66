package kubernetes

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ansflow/ansflow/providers"
)

// leaves flattens an object into display paths and values:
//
//	spec.replicas = 2
//	spec.template.spec.containers[my-app].image = nginx:1
//	spec.template.spec.containers[my-app].env.VERSION = 1
//
// List items are keyed by their "name" (else containerPort, else index), and
// env lists of {name, value} collapse to env.NAME, so paths stay stable when
// items move.
func leaves(obj map[string]any) map[string]string {
	out := map[string]string{}
	flatten("", obj, out)
	return out
}

func flatten(prefix string, v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			flatten(join(prefix, k), e, out)
		}
	case []any:
		if len(t) == 0 {
			out[prefix] = "[]"
			return
		}
		isEnv := strings.HasSuffix(prefix, ".env") || prefix == "env"
		for i, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				out[fmt.Sprintf("%s[%d]", prefix, i)] = display(e)
				continue
			}
			if name, ok := m["name"].(string); ok && isEnv && len(m) <= 2 {
				if val, ok := m["value"]; ok {
					out[prefix+"."+name] = display(val)
				} else {
					out[prefix+"."+name] = ""
				}
				continue
			}
			flatten(prefix+"["+itemKey(m, i)+"]", m, out)
		}
	default:
		out[prefix] = display(t)
	}
}

func itemKey(m map[string]any, i int) string {
	if name, ok := m["name"].(string); ok && name != "" {
		return name
	}
	if p, ok := m["containerPort"]; ok {
		return display(p)
	}
	return fmt.Sprint(i)
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func display(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "null"
	case float64:
		if t == float64(int64(t)) {
			return fmt.Sprint(int64(t))
		}
		return fmt.Sprint(t)
	default:
		if b, err := json.Marshal(t); err == nil {
			return string(b)
		}
		return fmt.Sprint(t)
	}
}

// ignoredPath reports fields the API server owns or fills in, which are
// never compared.
func ignoredPath(p string) bool {
	switch {
	case p == "apiVersion", p == "kind", p == "status", strings.HasPrefix(p, "status."):
		return true
	case strings.HasPrefix(p, "metadata."):
		return !strings.HasPrefix(p, "metadata.labels.") && !strings.HasPrefix(p, "metadata.annotations.")
	}
	return false
}

// differences lists the leaves of want whose value in got differs, in path
// order. Only fields present in want are compared: what ansflow applied.
func differences(want, got map[string]any) []providers.Drift {
	w, g := leaves(want), leaves(got)
	var out []providers.Drift
	for p, wv := range w {
		if ignoredPath(p) {
			continue
		}
		gv, ok := g[p]
		if !ok {
			gv = "(absent)"
		}
		if !sameValue(wv, gv) {
			out = append(out, providers.Drift{Path: p, Before: wv, After: gv})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// sameValue compares display values, treating equal quantities written
// differently ("1" vs "1000m", "0.5" vs "500m") as the same.
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	return quantitiesEqual(a, b)
}

func quantitiesEqual(a, b string) bool {
	qa, err := resource.ParseQuantity(a)
	if err != nil {
		return false
	}
	qb, err := resource.ParseQuantity(b)
	if err != nil {
		return false
	}
	return qa.Cmp(qb) == 0
}
