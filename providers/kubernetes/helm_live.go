package kubernetes

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// listAtLeast is how many objects of one kind in one namespace are read with
// one list instead of one get each.
const listAtLeast = 4

// liveObjects fetches the objects of a manifest as they are now, keyed by
// the manifest's objects; deleted ones are missing from the map. Kinds with
// many objects in a namespace (a chart's ConfigMaps) are listed once, the
// rest read one by one, a few requests at a time.
func (c *client) liveObjects(ctx context.Context, objs []*unstructured.Unstructured) (map[objectKey]*unstructured.Unstructured, error) {
	type group struct {
		t    target
		ns   string
		objs []int // indexes into objs
	}
	var groups []*group
	index := map[string]*group{}
	for i, o := range objs {
		t, err := c.mappingFor(o.GroupVersionKind())
		if err != nil {
			return nil, err
		}
		ns := o.GetNamespace()
		if !t.namespaced() {
			ns = ""
		}
		k := t.mapping.Resource.String() + "/" + ns
		g := index[k]
		if g == nil {
			g = &group{t: t, ns: ns}
			index[k] = g
			groups = append(groups, g)
		}
		g.objs = append(g.objs, i)
	}
	got := make([]*unstructured.Unstructured, len(objs)) // each goroutine writes its own elements
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(8)
	for _, g := range groups {
		if len(g.objs) >= listAtLeast {
			eg.Go(func() error { return c.listInto(ctx, g.t, g.ns, objs, g.objs, got) })
			continue
		}
		for _, i := range g.objs {
			eg.Go(func() error {
				u, err := c.resource(g.t, g.ns).Get(ctx, objs[i].GetName(), metav1.GetOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					return fmt.Errorf("reading %s: %w", refOf(objs[i]), c.apiError(err))
				}
				if err == nil {
					got[i] = u
				}
				return nil
			})
		}
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	out := make(map[objectKey]*unstructured.Unstructured, len(objs))
	for i, u := range got {
		if u != nil {
			out[keyOf(objs[i])] = u
		}
	}
	return out, nil
}

// listInto lists one kind in one namespace and keeps the objects at the
// indexes want of objs in got.
func (c *client) listInto(ctx context.Context, t target, ns string, objs []*unstructured.Unstructured, want []int, got []*unstructured.Unstructured) error {
	list, err := c.resource(t, ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing %s: %w", t.mapping.Resource.Resource, c.apiError(err))
	}
	byName := make(map[string]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		byName[list.Items[i].GetName()] = &list.Items[i]
	}
	for _, i := range want {
		got[i] = byName[objs[i].GetName()]
	}
	return nil
}
