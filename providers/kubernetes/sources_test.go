package kubernetes

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ansflow/ansflow/providers"
)

// guestbook is a multi-document manifest shaped like the ones in
// kubernetes/examples: Services and Deployments separated by ---.
const guestbook = `# Redis leader
apiVersion: v1
kind: Service
metadata:
  name: redis-leader
  labels: {app: redis, role: leader}
spec:
  ports:
  - port: 6379
    targetPort: 6379
  selector: {app: redis, role: leader}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: redis-leader
spec:
  replicas: 1
  selector:
    matchLabels: {app: redis, role: leader}
  template:
    metadata:
      labels: {app: redis, role: leader}
    spec:
      containers:
      - name: leader
        image: registry.invalid/redis:6
        ports:
        - containerPort: 6379
---
---
apiVersion: v1
kind: ConfigMap
metadata: {name: frontend-config}
data: {GET_HOSTS_FROM: dns}
---
apiVersion: v1
kind: Namespace
metadata: {name: guestbook}
`

func names(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, refOf(o).String())
	}
	return out
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func deployIn(t *testing.T, given map[string]cty.Value) attrs {
	return attrs{inputs(t, "k8s_deploy", given)}
}

func TestLoadObjects(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"k8s/a-guestbook.yaml":    guestbook,
		"k8s/b-extra.json":        `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token"}}]}`,
		"base/kustomization.yaml": "resources: [deploy.yaml]\n",
		"base/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: registry.invalid/web:1}]}
`,
		"overlays/prod/kustomization.yaml": "resources: [../../base]\nnamePrefix: prod-\npatches:\n- path: replicas.yaml\n",
		"overlays/prod/replicas.yaml":      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n",
	})
	tests := []struct {
		name  string
		given map[string]cty.Value
		want  []string
		files []string
	}{
		{"manifest text", map[string]cty.Value{"manifest": cty.StringVal(guestbook)},
			[]string{"service/redis-leader", "deployment/redis-leader", "configmap/frontend-config", "namespace/guestbook"}, nil},
		{"manifest list mixing objects and text", map[string]cty.Value{"manifest": cty.TupleVal([]cty.Value{
			cty.ObjectVal(map[string]cty.Value{"apiVersion": cty.StringVal("v1"), "kind": cty.StringVal("ConfigMap"), "metadata": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("one")})}),
			cty.StringVal("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n"),
		})}, []string{"configmap/one", "configmap/two"}, nil},
		{"manifest_files in file order", map[string]cty.Value{"manifest_files": cty.ListVal([]cty.Value{cty.StringVal("k8s/*.yaml"), cty.StringVal("k8s/*")})},
			[]string{"service/redis-leader", "deployment/redis-leader", "configmap/frontend-config", "namespace/guestbook", "secret/token"},
			[]string{"k8s/a-guestbook.yaml", "k8s/b-extra.json"}},
		{"kustomize overlay with a patch", map[string]cty.Value{"kustomize": cty.StringVal("overlays/prod")},
			[]string{"deployment/prod-web"},
			[]string{"base/deploy.yaml", "base/kustomization.yaml", "kustomize build overlays/prod", "overlays/prod/kustomization.yaml", "overlays/prod/replicas.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := loadObjects(deployIn(t, tt.given), dir, "ns")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, names(l.objs)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			var files []string
			for f := range l.files {
				files = append(files, f)
			}
			if diff := cmp.Diff(tt.files, files, sortStrings); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
	l, err := loadObjects(deployIn(t, map[string]cty.Value{"kustomize": cty.StringVal("overlays/prod")}), dir, "ns")
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(l.objs[0].Object, "spec", "replicas"); r != 3 {
		t.Errorf("the overlay's patch was not applied: replicas = %d", r)
	}
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func TestLoadObjectsErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"k8s/app.yaml": guestbook, "bad.yaml": "kind: [\n", "nokind.yaml": "metadata: {name: x}\n"})
	tests := []struct {
		name      string
		given     map[string]cty.Value
		input     string // the attribute the error names
		substring string
	}{
		{"two sources", map[string]cty.Value{"manifest": cty.StringVal(guestbook), "kustomize": cty.StringVal("x")}, "kustomize", "only one of manifest, manifest_files and kustomize"},
		{"a source and the compact form", map[string]cty.Value{"manifest_files": cty.ListVal([]cty.Value{cty.StringVal("k8s/*.yaml")}), "image": cty.StringVal("x")}, "image", "belongs to the compact form"},
		{"a pattern matching nothing", map[string]cty.Value{"manifest_files": cty.ListVal([]cty.Value{cty.StringVal("k8s/*.yml")})}, "manifest_files", `"k8s/*.yml" matches no file`},
		{"a bad pattern", map[string]cty.Value{"manifest_files": cty.ListVal([]cty.Value{cty.StringVal("k8s/[")})}, "manifest_files", "is not a valid pattern"},
		{"bad YAML in a file", map[string]cty.Value{"manifest_files": cty.ListVal([]cty.Value{cty.StringVal("bad.yaml")})}, "manifest_files", "bad.yaml: document 1 is not valid YAML"},
		{"a document without kind", map[string]cty.Value{"manifest_files": cty.ListVal([]cty.Value{cty.StringVal("nokind.yaml")})}, "manifest_files", "nokind.yaml document 1 needs apiVersion, kind and metadata.name"},
		{"no kustomization", map[string]cty.Value{"kustomize": cty.StringVal("k8s")}, "kustomize", "kustomize build k8s"},
		{"an empty manifest", map[string]cty.Value{"manifest": cty.StringVal("# nothing\n")}, "manifest", "no objects to apply"},
		{"an object twice", map[string]cty.Value{"manifest": cty.StringVal(guestbook + "---\n" + guestbook)}, "manifest", "service/redis-leader appears twice"},
		{"the compact form without image", map[string]cty.Value{"name": cty.StringVal("web")}, "image", "image is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadObjects(deployIn(t, tt.given), dir, "ns")
			var ie *providers.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an InputError", err)
			}
			if ie.Input != tt.input || !strings.Contains(err.Error(), tt.substring) {
				t.Errorf("err = %v on %q, want one on %q containing %q", err, ie.Input, tt.input, tt.substring)
			}
		})
	}
}

func TestSortForApply(t *testing.T) {
	l, err := loadObjects(deployIn(t, map[string]cty.Value{"manifest": cty.StringVal(guestbook + `---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
`)}), "", "ns")
	if err != nil {
		t.Fatal(err)
	}
	sortForApply(l.objs)
	want := []string{"namespace/guestbook", "customresourcedefinition/widgets.example.com", "configmap/frontend-config", "service/redis-leader", "deployment/redis-leader", "widget/w"}
	if diff := cmp.Diff(want, names(l.objs)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
