package kubernetes

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/restmapper"

	"github.com/ansflow/ansflow/providers"
)

func TestRenderAPIError(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"not found", apierrors.NewNotFound(gr, "x"), `Error from server (NotFound): deployments.apps "x" not found`},
		{"wrapped", fmt.Errorf("reading: %w", apierrors.NewForbidden(gr, "x", errors.New("no"))), `Error from server (Forbidden): deployments.apps "x" is forbidden: no`},
		{"unknown reason", &apierrors.StatusError{ErrStatus: metav1.Status{Message: "boom", Code: 500}}, "Error from server: boom"},
		{"unreachable", &url.Error{Op: "Get", URL: "https://127.0.0.1:1/api", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}},
			"cannot reach the Kubernetes API server at https://127.0.0.1:1: dial: connection refused (is the cluster running, and are KUBECONFIG / the cluster block's context right?)"},
		{"other", errors.New("plain"), "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderAPIError(tt.err, "https://127.0.0.1:1").Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err    error
		want   int
		wantOK bool
	}{
		{errors.New(`Internal error occurred: error executing command in container: exit status 3`), 3, true},
		{errors.New("connection reset"), 0, false},
	}
	for _, tt := range tests {
		got, ok := exitCode(tt.err)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("exitCode(%q) = %d, %v; want %d, %v", tt.err, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestResolveKind(t *testing.T) {
	cs := fake.NewClientset()
	disc := cs.Discovery().(*fakediscovery.FakeDiscovery)
	disc.Resources = []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "configmaps", SingularName: "configmap", Namespaced: true, Kind: "ConfigMap", ShortNames: []string{"cm"}, Verbs: []string{"get", "list"}},
			{Name: "namespaces", SingularName: "namespace", Kind: "Namespace", ShortNames: []string{"ns"}, Verbs: []string{"get", "list"}},
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments", SingularName: "deployment", Namespaced: true, Kind: "Deployment", ShortNames: []string{"deploy"}, Verbs: []string{"get", "list"}},
			{Name: "statefulsets", SingularName: "statefulset", Namespaced: true, Kind: "StatefulSet", ShortNames: []string{"sts"}, Verbs: []string{"get", "list"}},
		}},
	}
	cached := memory.NewMemCacheClient(disc)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	c := &client{discovery: cached, mapper: mapper, kinds: restmapper.NewShortcutExpander(mapper, cached, func(string) {})}

	tests := []struct{ in, kind string }{
		{"deployment", "Deployment"}, {"deploy", "Deployment"}, {"Deployments", "Deployment"},
		{"deployment.apps", "Deployment"}, {"sts", "StatefulSet"}, {"cm", "ConfigMap"}, {"ns", "Namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := c.resolveKind(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if k := got.mapping.GroupVersionKind.Kind; k != tt.kind {
				t.Errorf("resolveKind(%q) = %s, want %s", tt.in, k, tt.kind)
			}
		})
	}
	if _, err := c.resolveKind(t.Context(), "gizmo"); err == nil || err.Error() != `the server doesn't have a resource type "gizmo"` {
		t.Errorf("unknown kind: got %v", err)
	}
}

func deployInputs(env map[string]string, replicas int) attrs {
	e := map[string]cty.Value{}
	for k, v := range env {
		e[k] = cty.StringVal(v)
	}
	m := map[string]cty.Value{
		"name": cty.StringVal("web"), "image": cty.StringVal("nginx:1"), "env": cty.MapVal(e),
		"replicas": cty.NullVal(cty.Number),
	}
	if replicas > 0 {
		m["replicas"] = cty.NumberIntVal(int64(replicas))
	}
	return attrs{cty.ObjectVal(m)}
}

func TestCompactObjectsAndDifferences(t *testing.T) {
	objs, err := compactObjects(deployInputs(map[string]string{"VERSION": "1"}, 0), "ns1")
	if err != nil {
		t.Fatal(err)
	}
	if _, found := objs[0].Object["spec"].(map[string]any)["replicas"]; found {
		t.Error("replicas was sent although unset: it would take the field from an HPA")
	}
	got := leaves(objs[0].Object)
	for path, want := range map[string]string{
		"spec.template.spec.containers[web].image":       "nginx:1",
		"spec.template.spec.containers[web].env.VERSION": "1",
		"spec.selector.matchLabels.app":                  "web",
		"metadata.namespace":                             "ns1",
	} {
		if got[path] != want {
			t.Errorf("%s = %q, want %q", path, got[path], want)
		}
	}

	applied, _ := compactObjects(deployInputs(map[string]string{"VERSION": "1"}, 2), "ns1")
	live, _ := compactObjects(deployInputs(map[string]string{"VERSION": "2"}, 5), "ns1")
	var drift []providers.Drift
	for _, d := range differences(applied[0].Object, live[0].Object) {
		d.Path = friendlyPath(d.Path, applied[0])
		drift = append(drift, d)
	}
	want := []providers.Drift{{Path: "replicas", Before: "2", After: "5"}, {Path: "env.VERSION", Before: "1", After: "2"}}
	if diff := cmp.Diff(want, drift); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}
}

func TestManifestObjects(t *testing.T) {
	cm := cty.ObjectVal(map[string]cty.Value{
		"apiVersion": cty.StringVal("v1"), "kind": cty.StringVal("ConfigMap"),
		"metadata": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("cfg"), "namespace": cty.NullVal(cty.String)}),
		"data":     cty.ObjectVal(map[string]cty.Value{"n": cty.StringVal("1")}),
	})
	objs, err := manifestObjects(cty.TupleVal([]cty.Value{cm}))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].GetName() != "cfg" || objs[0].GetNamespace() != "" {
		t.Errorf("got %+v", objs)
	}
	if _, err := manifestObjects(cty.StringVal("x")); err == nil {
		t.Error("a string manifest was accepted")
	}
}
