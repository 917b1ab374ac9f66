package kubernetes

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// target is one kind of object resolved through discovery.
type target struct {
	mapping *meta.RESTMapping
}

// kindName is kubectl's short display form: "deployment", "configmap".
func (t target) kindName() string { return strings.ToLower(t.mapping.GroupVersionKind.Kind) }

func (t target) namespaced() bool { return t.mapping.Scope.Name() == meta.RESTScopeNameNamespace }

// resource returns the dynamic client for the kind in namespace ns (ignored
// for cluster-scoped kinds).
func (c *client) resource(t target, ns string) dynamic.ResourceInterface {
	r := c.dynamic.Resource(t.mapping.Resource)
	if t.namespaced() {
		return r.Namespace(ns)
	}
	return r
}

// resolveKind maps a kubectl-style kind ("deploy", "deployments",
// "Deployment", "deployment.apps", "cm") to its REST mapping. Discovery is
// cached; a miss refreshes it once, so kinds from new CRDs are found.
func (c *client) resolveKind(ctx context.Context, kind string) (target, error) {
	arg := strings.ToLower(strings.TrimSpace(kind))
	if arg == "" {
		return target{}, fmt.Errorf("kind is empty")
	}
	t, err := c.lookupKind(arg)
	if err != nil && meta.IsNoMatchError(err) {
		c.mapper.Reset()
		t, err = c.lookupKind(arg)
	}
	if err != nil {
		if meta.IsNoMatchError(err) {
			return target{}, fmt.Errorf("the server doesn't have a resource type %q", kind)
		}
		return target{}, c.apiError(err)
	}
	return t, nil
}

func (c *client) lookupKind(arg string) (target, error) {
	full, gr := schema.ParseResourceArg(arg)
	var gvk schema.GroupVersionKind
	var err error
	if full != nil {
		gvk, err = c.kinds.KindFor(*full)
	}
	if full == nil || err != nil {
		gvk, err = c.kinds.KindFor(gr.WithVersion(""))
	}
	if err != nil {
		return target{}, err
	}
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return target{}, err
	}
	return target{mapping: m}, nil
}

// mappingFor resolves an object's apiVersion and kind (from a manifest).
func (c *client) mappingFor(gvk schema.GroupVersionKind) (target, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil && meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		if meta.IsNoMatchError(err) {
			return target{}, fmt.Errorf("the server has no kind %q in %q (is the CRD installed?)", gvk.Kind, gvk.GroupVersion().String())
		}
		return target{}, c.apiError(err)
	}
	return target{mapping: m}, nil
}
