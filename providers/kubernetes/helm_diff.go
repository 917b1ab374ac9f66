package kubernetes

import (
	"fmt"
	"sort"
	"strings"

	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/ansflow/ansflow/providers"
)

// manifestObjects parses a release manifest (YAML documents separated by
// ---) into objects, in the manifest's order. Namespaced objects without a
// namespace are in ns; cluster-scoped ones are told apart later, by the API.
func releaseObjects(manifest, ns string) ([]*unstructured.Unstructured, error) {
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	out := make([]*unstructured.Unstructured, 0, len(keys))
	for _, k := range keys {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(docs[k]), &m); err != nil {
			return nil, fmt.Errorf("reading the release manifest: %w", err)
		}
		if len(m) == 0 {
			continue // a document of comments only
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetNamespace() == "" {
			u.SetNamespace(ns)
		}
		out = append(out, u)
	}
	return out, nil
}

// keyOf identifies an object across manifests regardless of apiVersion.
func keyOf(u *unstructured.Unstructured) objectKey { return refOf(u).key() }

// objectNames lists "kind/name" of each object, in manifest order.
func objectNames(objs []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, refOf(o).String())
	}
	return out
}

// manifestChanges compares two renderings of a release object by object and
// field by field: what going from before to after changes. Paths are
// "kind/name.field.path"; an object only in one of them is "(absent)" on the
// other side.
func manifestChanges(before, after []*unstructured.Unstructured) []providers.Drift {
	old := map[objectKey]*unstructured.Unstructured{}
	for _, o := range before {
		old[keyOf(o)] = o
	}
	var out []providers.Drift
	seen := map[objectKey]bool{}
	for _, n := range after {
		k := keyOf(n)
		seen[k] = true
		o, ok := old[k]
		if !ok {
			out = append(out, providers.Drift{Path: refOf(n).String(), Before: "(absent)", After: "created"})
			continue
		}
		out = append(out, masked(n, fieldChanges(refOf(n).String(), o.Object, n.Object))...)
	}
	for _, o := range before {
		if !seen[keyOf(o)] {
			out = append(out, providers.Drift{Path: refOf(o).String(), Before: "exists", After: "deleted"})
		}
	}
	return out
}

// fieldChanges lists the leaves that differ between two versions of one
// object, both ways, in path order.
func fieldChanges(prefix string, before, after map[string]any) []providers.Drift {
	var out []providers.Drift
	for _, d := range differences(after, before) { // fields set in after
		out = append(out, providers.Drift{Path: prefix + "." + d.Path, Before: d.After, After: d.Before})
	}
	for _, d := range differences(before, after) { // and those it no longer sets
		if d.After == "(absent)" {
			out = append(out, providers.Drift{Path: prefix + "." + d.Path, Before: d.Before, After: d.After})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// liveDrift compares what the release manifest says with the live objects:
// fields of the manifest changed by hand, objects deleted by hand.
func liveDrift(want []*unstructured.Unstructured, live map[objectKey]*unstructured.Unstructured) []providers.Drift {
	var out []providers.Drift
	for _, w := range want {
		got := live[keyOf(w)]
		name := refOf(w).String()
		if got == nil {
			out = append(out, providers.Drift{Path: name, Before: "exists", After: "deleted"})
			continue
		}
		var ds []providers.Drift
		for _, d := range differences(w.Object, got.Object) {
			if w.GetKind() == "Secret" && strings.HasPrefix(d.Path, "stringData.") {
				continue // write-only: the API server folds it into data
			}
			d.Path = name + "." + d.Path
			ds = append(ds, d)
		}
		out = append(out, masked(w, ds)...)
	}
	return out
}

// masked hides the values of a Secret's data in changes to it: plans and
// state never show them (base64 is no protection).
func masked(obj *unstructured.Unstructured, ds []providers.Drift) []providers.Drift {
	if obj.GetKind() != "Secret" || obj.GroupVersionKind().Group != "" {
		return ds
	}
	prefix := refOf(obj).String() + "."
	for i, d := range ds {
		field := strings.TrimPrefix(d.Path, prefix)
		if strings.HasPrefix(field, "data.") || strings.HasPrefix(field, "stringData.") {
			ds[i].Before, ds[i].After = hideValue(d.Before), hideValue(d.After)
		}
	}
	return ds
}

func hideValue(v string) string {
	if v == "(absent)" {
		return v
	}
	return "(sensitive value)"
}
