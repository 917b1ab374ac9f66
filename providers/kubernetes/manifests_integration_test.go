package kubernetes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"

	"github.com/ansflow/ansflow/providers"
)

// Tests of k8s_deploy with real-world manifests: multi-document YAML,
// CRDs with their custom resources, kustomize overlays, pruning. Their
// namespaces start with km- (and CRDs live in the group km.ansflow.test),
// so they never meet another test's objects.

// kmNamespace is a fresh name for a namespace the test's manifest creates;
// it is deleted when the test ends, whatever the test left.
func (c *cluster) kmNamespace(t *testing.T) string {
	t.Helper()
	ns := "km-" + strings.ToLower(t.Name()[4:min(len(t.Name()), 20)]) + "-" + rand.String(5)
	ns = strings.NewReplacer("/", "-", "_", "-").Replace(ns)
	t.Cleanup(func() {
		_ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	return ns
}

// guestbookManifest is the guestbook as kubernetes/examples keeps it (one
// file, Services and Deployments separated by ---), with its own Namespace
// and a ConfigMap; follower says whether the redis follower is in it.
func guestbookManifest(ns string, follower bool) string {
	docs := []string{fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
`, ns), `apiVersion: v1
kind: Service
metadata:
  name: redis-leader
  labels: {app: redis, role: leader, tier: backend}
spec:
  ports:
  - port: 6379
    targetPort: 6379
  selector: {app: redis, role: leader, tier: backend}
`, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: redis-leader
  labels: {app: redis, role: leader, tier: backend}
spec:
  replicas: 1
  selector:
    matchLabels: {app: redis}
  template:
    metadata:
      labels: {app: redis, role: leader, tier: backend}
    spec:
      containers:
      - name: leader
        image: registry.invalid/redis:6.0.5
        resources:
          requests: {cpu: 100m, memory: 100Mi}
        ports:
        - containerPort: 6379
`, `apiVersion: v1
kind: ConfigMap
metadata:
  name: frontend-config
data:
  GET_HOSTS_FROM: dns
`, `apiVersion: v1
kind: Service
metadata:
  name: frontend
  labels: {app: guestbook, tier: frontend}
spec:
  type: ClusterIP
  ports:
  - port: 80
  selector: {app: guestbook, tier: frontend}
`, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  replicas: 3
  selector:
    matchLabels: {app: guestbook, tier: frontend}
  template:
    metadata:
      labels: {app: guestbook, tier: frontend}
    spec:
      containers:
      - name: php-redis
        image: registry.invalid/gb-frontend:v5
        envFrom:
        - configMapRef: {name: frontend-config}
        ports:
        - containerPort: 80
`}
	if follower {
		docs = append(docs, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: redis-follower
spec:
  replicas: 2
  selector:
    matchLabels: {app: redis, role: follower}
  template:
    metadata:
      labels: {app: redis, role: follower, tier: backend}
    spec:
      containers:
      - name: follower
        image: registry.invalid/gb-redis-follower:v2
        ports:
        - containerPort: 6379
`)
	}
	return "# Guestbook\n" + strings.Join(docs, "---\n")
}

// applyIn applies a step with the pipeline directory dir.
func (c *cluster) applyIn(t *testing.T, dir string, in cty.Value, prior *providers.Prior) (providers.ApplyResponse, providers.Prior, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	l, pl := newLogs(t)
	action := providers.Create
	if prior != nil {
		action = providers.Update
	}
	resp, err := c.p.Steps()["k8s_deploy"].Apply(ctx, providers.ApplyRequest{
		Addr: "k8s_deploy.test", Env: providers.Env{Dir: dir, LogDir: t.TempDir()}, Action: action, Inputs: in, Prior: prior, Logs: pl,
	})
	if err != nil {
		t.Fatalf("k8s_deploy: %v\nlogs:\n%s", err, l)
	}
	return resp, providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}, l.String()
}

// readIn refreshes a k8s_deploy step with desired inputs, as plan does.
func (c *cluster) readIn(t *testing.T, dir string, desired cty.Value, prior providers.Prior) providers.ReadResponse {
	t.Helper()
	rr, err := c.p.Steps()["k8s_deploy"].Read(t.Context(), providers.ReadRequest{Env: providers.Env{Dir: dir}, Desired: desired, Prior: prior})
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// versions maps each object of the applied set to its resourceVersion.
// Objects in which ansflow owns no field (a Namespace given only its name)
// are left out: the API server writes such an object once more on the
// next apply, to record the "before-first-apply" manager of its defaulted
// fields.
func (c *cluster) versions(t *testing.T, p providers.Prior) map[string]string {
	t.Helper()
	priv, err := readPrivate(p.Private)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range priv.Objects {
		u, err := c.p.mustClient(t).getRef(t.Context(), r.objectRef)
		if err != nil || u == nil {
			t.Fatalf("%s: %v (gone: %v)", r, err, u == nil)
		}
		owns := false
		for _, mf := range u.GetManagedFields() {
			owns = owns || mf.Manager == fieldManager
		}
		if owns {
			out[r.String()] = u.GetResourceVersion()
		}
	}
	return out
}

func (p *Provider) mustClient(t *testing.T) *client {
	t.Helper()
	c, err := p.clientFor(clusterSettings{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// noOp checks that applying in again changes no object and that a plan's
// refresh finds neither drift nor a diff.
func (c *cluster) noOp(t *testing.T, dir string, in cty.Value, prior providers.Prior) providers.Prior {
	t.Helper()
	if rr := c.readIn(t, dir, in, prior); rr.Gone || len(rr.Drift) != 0 || len(rr.Diff) != 0 {
		t.Errorf("refresh after apply: gone=%v drift=%+v diff=%+v", rr.Gone, rr.Drift, rr.Diff)
	}
	before := c.versions(t, prior)
	_, prior, _ = c.applyIn(t, dir, in, &prior)
	if after := c.versions(t, prior); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a second apply changed objects:\nbefore %v\nafter  %v", before, after)
	}
	return prior
}

func TestManifestGuestbookAndPrune(t *testing.T) {
	c := needCluster(t)
	ns := c.kmNamespace(t)
	// The Namespace and one ConfigMap exist before the step applies them:
	// they are adopted, and neither pruning nor destroy deletes them.
	if _, err := c.cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	configMap(t, c, ns, "made-by-hand", nil)
	handMade := "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: made-by-hand}\ndata: {k: v}\n"

	in := inputs(t, "k8s_deploy", map[string]cty.Value{"namespace": cty.StringVal(ns), "manifest": cty.StringVal(guestbookManifest(ns, true) + handMade)})
	out, prior, logs := c.applyIn(t, "", in, nil)
	if str(out.Outputs, "name") != "redis-leader" || str(out.Outputs, "namespace") != ns {
		t.Errorf("outputs = %#v", out.Outputs)
	}
	for _, d := range []string{"redis-leader", "frontend", "redis-follower"} {
		got, err := c.cs.AppsV1().Deployments(ns).Get(t.Context(), d, metav1.GetOptions{})
		if err != nil || got.Status.AvailableReplicas != *got.Spec.Replicas {
			t.Errorf("deployment %s after apply: %v, %d available", d, err, got.Status.AvailableReplicas)
		}
	}
	if !strings.Contains(logs, "namespace/"+ns+" applied") || strings.Index(logs, "namespace/") > strings.Index(logs, "configmap/") {
		t.Errorf("the Namespace was not applied first:\n%s", logs)
	}
	prior = c.noOp(t, "", in, prior)

	// Without the follower (and the hand-made ConfigMap): the plan says it
	// goes, the apply deletes it, and leaves the ConfigMap it did not create.
	smaller := inputs(t, "k8s_deploy", map[string]cty.Value{"namespace": cty.StringVal(ns), "manifest": cty.StringVal(guestbookManifest(ns, false))})
	rr := c.readIn(t, "", smaller, prior)
	wantRemoved := providers.Drift{Path: "deployment/redis-follower", Before: "no longer in the manifest", Removed: true}
	var removed []providers.Drift
	for _, d := range rr.Diff {
		if d.Removed || strings.HasPrefix(d.Path, "configmap/made-by-hand") {
			removed = append(removed, d)
		}
	}
	if len(removed) != 2 || removed[1] != wantRemoved || !strings.Contains(removed[0].After, "left in place") {
		t.Errorf("plan of the smaller manifest: %+v, want [configmap/made-by-hand left in place, %+v]", rr.Diff, wantRemoved)
	}
	_, prior, logs = c.applyIn(t, "", smaller, &prior)
	if !strings.Contains(logs, "deployment/redis-follower deleted (no longer in the manifest)") || !strings.Contains(logs, "configmap/made-by-hand left in place") {
		t.Errorf("apply of the smaller manifest logged:\n%s", logs)
	}
	if _, err := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "redis-follower", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the pruned deployment: %v", err)
	}
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Get(t.Context(), "made-by-hand", metav1.GetOptions{}); err != nil {
		t.Errorf("the ConfigMap the step did not create: %v", err)
	}
	prior = c.noOp(t, "", smaller, prior)

	// Destroy deletes the rest and leaves the adopted Namespace.
	_, pl := newLogs(t)
	if err := c.p.Steps()["k8s_deploy"].Delete(t.Context(), providers.DeleteRequest{Prior: prior, Logs: pl}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "frontend", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deployment after Delete: %v", err)
	}
	if _, err := c.cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{}); err != nil {
		t.Errorf("the adopted namespace after Delete: %v", err)
	}
}

// crdManifest holds a custom resource before the CRD that defines it.
func crdManifest(ns, size string) string {
	return fmt.Sprintf(`apiVersion: km.ansflow.test/v1
kind: Widget
metadata:
  name: gizmo
  namespace: %[1]s
spec:
  size: %[2]s
---
apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.km.ansflow.test
spec:
  group: km.ansflow.test
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [kmw]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: string}
`, ns, size)
}

func TestManifestCRDAndCustomResource(t *testing.T) {
	c := needCluster(t)
	ns := c.kmNamespace(t)
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	dyn := dynamic.NewForConfigOrDie(c.p.mustClient(t).config)
	// Start from no CRD, so the apply must wait for it to be established.
	_ = dyn.Resource(crds).Delete(t.Context(), "widgets.km.ansflow.test", metav1.DeleteOptions{})
	t.Cleanup(func() {
		_ = dyn.Resource(crds).Delete(context.Background(), "widgets.km.ansflow.test", metav1.DeleteOptions{})
	})
	waitGone(t, func() error {
		_, err := dyn.Resource(crds).Get(t.Context(), "widgets.km.ansflow.test", metav1.GetOptions{})
		return err
	})

	in := inputs(t, "k8s_deploy", map[string]cty.Value{"manifest": cty.StringVal(crdManifest(ns, "small"))})
	_, prior, logs := c.applyIn(t, "", in, nil)
	if !strings.Contains(logs, "customresourcedefinition/widgets.km.ansflow.test established") {
		t.Errorf("the CRD was not waited for:\n%s", logs)
	}
	widgets := schema.GroupVersionResource{Group: "km.ansflow.test", Version: "v1", Resource: "widgets"}
	w, err := dyn.Resource(widgets).Namespace(ns).Get(t.Context(), "gizmo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if size, _, _ := unstructured.NestedString(w.Object, "spec", "size"); size != "small" {
		t.Errorf("spec.size = %q", size)
	}
	prior = c.noOp(t, "", in, prior)

	// The CR's field changes: the plan names it.
	bigger := inputs(t, "k8s_deploy", map[string]cty.Value{"manifest": cty.StringVal(crdManifest(ns, "large"))})
	rr := c.readIn(t, "", bigger, prior)
	want := providers.Drift{Path: "widget/gizmo.spec.size", Before: "small", After: "large"}
	if len(rr.Diff) != 1 || rr.Diff[0] != want {
		t.Errorf("diff = %+v, want [%+v]", rr.Diff, want)
	}
	_, prior, _ = c.applyIn(t, "", bigger, &prior)

	// k8s_wait ready on a custom resource without status: kstatus says Current.
	win := inputs(t, "k8s_wait", map[string]cty.Value{"namespace": cty.StringVal(ns), "kind": cty.StringVal("kmw"), "name": cty.StringVal("gizmo"), "condition": cty.StringVal("ready")})
	if out, _ := c.mustApply(t, "k8s_wait", win, nil); !strings.Contains(str(out.Outputs, "observed"), "widget/gizmo ready") {
		t.Errorf("observed = %q", str(out.Outputs, "observed"))
	}
	_, pl := newLogs(t)
	if err := c.p.Steps()["k8s_deploy"].Delete(t.Context(), providers.DeleteRequest{Prior: prior, Logs: pl}); err != nil {
		t.Fatal(err)
	}
}

func waitGone(t *testing.T, get func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !apierrors.IsNotFound(get()) {
		if time.Now().After(deadline) {
			t.Fatal("an object from an earlier run is still there after 30s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestKustomizeOverlay(t *testing.T) {
	c := needCluster(t)
	ns := c.kmNamespace(t)
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"base/kustomization.yaml": "resources:\n- deployment.yaml\n- service.yaml\nlabels:\n- pairs: {app.kubernetes.io/name: shop}\n",
		"base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 1
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
      - name: shop
        image: registry.invalid/shop:1.0
        ports:
        - containerPort: 8080
`,
		"base/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: shop\nspec:\n  selector: {app: shop}\n  ports:\n  - port: 80\n    targetPort: 8080\n",
		"overlays/km/kustomization.yaml": fmt.Sprintf(`namespace: %s
namePrefix: km-
resources:
- ../../base
- namespace.yaml
images:
- name: registry.invalid/shop
  newTag: "1.1"
patches:
- path: replicas.yaml
`, ns),
		"overlays/km/namespace.yaml": fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", ns),
		"overlays/km/replicas.yaml":  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\nspec:\n  replicas: 2\n",
	})
	in := inputs(t, "k8s_deploy", map[string]cty.Value{"kustomize": cty.StringVal("overlays/km")})
	_, prior, _ := c.applyIn(t, dir, in, nil)
	d, err := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "km-shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 || d.Status.AvailableReplicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "registry.invalid/shop:1.1" || d.Labels["app.kubernetes.io/name"] != "shop" {
		t.Errorf("deployment: replicas %d (%d available), image %s, labels %v", *d.Spec.Replicas, d.Status.AvailableReplicas, d.Spec.Template.Spec.Containers[0].Image, d.Labels)
	}
	prior = c.noOp(t, dir, in, prior)

	// Editing the patch changes the fingerprint and the plan's diff.
	fp := func() map[string]string {
		files, err := c.p.Steps()["k8s_deploy"].Fingerprint(t.Context(), providers.FingerprintRequest{Env: providers.Env{Dir: dir}, Inputs: in})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	before := fp()
	write(t, dir, map[string]string{"overlays/km/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\nspec:\n  replicas: 3\n"})
	after := fp()
	if before["overlays/km/replicas.yaml"] == after["overlays/km/replicas.yaml"] || before["kustomize build overlays/km"] == after["kustomize build overlays/km"] {
		t.Errorf("the fingerprint did not follow the patch: %v -> %v", before, after)
	}
	rr := c.readIn(t, dir, in, prior)
	if want := (providers.Drift{Path: "deployment/km-shop.spec.replicas", Before: "2", After: "3"}); len(rr.Drift) != 0 || len(rr.Diff) != 1 || rr.Diff[0] != want {
		t.Errorf("refresh after editing the patch: drift %+v, diff %+v, want diff [%+v]", rr.Drift, rr.Diff, want)
	}
	_, prior, _ = c.applyIn(t, dir, in, &prior)
	if d, _ := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "km-shop", metav1.GetOptions{}); *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %d after the patch changed", *d.Spec.Replicas)
	}
	c.noOp(t, dir, in, prior)
}

// TestReadyOfAnyKind waits for a StatefulSet and a DaemonSet through kstatus,
// and fails fast on a StatefulSet whose pods crash-loop.
func TestReadyOfAnyKind(t *testing.T) {
	c := needCluster(t)
	ns := c.kmNamespace(t)
	sts := func(name, fault string) string {
		labels := "app: " + name
		if fault != "" {
			labels += ", ansflow-test/fault: " + fault
		}
		return fmt.Sprintf(`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: %[1]s}
spec:
  serviceName: %[1]s
  replicas: 2
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {%[2]s}}
    spec: {containers: [{name: db, image: registry.invalid/db:1}]}
`, name, labels)
	}
	manifest := fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n---\n", ns) + sts("db", "") + `---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      tolerations: [{operator: Exists}]
      containers: [{name: agent, image: registry.invalid/agent:1}]
`
	in := inputs(t, "k8s_deploy", map[string]cty.Value{"namespace": cty.StringVal(ns), "manifest": cty.StringVal(manifest)})
	_, _, logs := c.applyIn(t, "", in, nil)
	if s, err := c.cs.AppsV1().StatefulSets(ns).Get(t.Context(), "db", metav1.GetOptions{}); err != nil || s.Status.ReadyReplicas != 2 {
		t.Errorf("statefulset after the wait: %v, %+v\nlogs:\n%s", err, s.Status, logs)
	}
	if !strings.Contains(logs, "statefulset/db ready") {
		t.Errorf("logs do not show the statefulset's wait:\n%s", logs)
	}

	bad := inputs(t, "k8s_deploy", map[string]cty.Value{"namespace": cty.StringVal(ns), "manifest": cty.StringVal(sts("crashing", "crashloop"))})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	start := time.Now()
	_, pl := newLogs(t)
	_, err := c.p.Steps()["k8s_deploy"].Apply(ctx, providers.ApplyRequest{Addr: "k8s_deploy.bad", Env: providers.Env{LogDir: t.TempDir()}, Action: providers.Create, Inputs: bad, Logs: pl})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "statefulset/crashing") || !strings.Contains(err.Error(), "CrashLoopBackOff") {
		t.Fatalf("rollout of a crash-looping statefulset: %v", err)
	}
	if took > 20*time.Second {
		t.Errorf("took %v to fail; want seconds, not the timeout", took)
	}
}

// TestManifestFilesFingerprint: manifest_files read in order; editing a file
// is an update shown in the plan, not drift.
func TestManifestFiles(t *testing.T) {
	c := needCluster(t)
	ns := c.kmNamespace(t)
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"k8s/00-namespace.yaml": fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns),
		"k8s/10-config.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: blue}\n",
	})
	in := inputs(t, "k8s_deploy", map[string]cty.Value{"namespace": cty.StringVal(ns), "manifest_files": cty.ListVal([]cty.Value{cty.StringVal("k8s/*.yaml")})})
	_, prior, _ := c.applyIn(t, dir, in, nil)
	prior = c.noOp(t, dir, in, prior)
	if err := os.WriteFile(filepath.Join(dir, "k8s/10-config.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: green}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rr := c.readIn(t, dir, in, prior)
	if want := (providers.Drift{Path: "configmap/settings.data.mode", Before: "blue", After: "green"}); len(rr.Drift) != 0 || len(rr.Diff) != 1 || rr.Diff[0] != want {
		t.Errorf("refresh after editing a file: drift %+v, diff %+v, want diff [%+v]", rr.Drift, rr.Diff, want)
	}
	_, prior, _ = c.applyIn(t, dir, in, &prior)
	if cm, _ := c.cs.CoreV1().ConfigMaps(ns).Get(t.Context(), "settings", metav1.GetOptions{}); cm.Data["mode"] != "green" {
		t.Errorf("configmap data = %v", cm.Data)
	}
	c.noOp(t, dir, in, prior)
}

// TestApplyToObjectBeingDeleted: an object of the manifest that is being
// deleted (here held by a finalizer) will never be ready; the step fails at
// once and says so, instead of waiting for it until the timeout.
func TestApplyToObjectBeingDeleted(t *testing.T) {
	c := needCluster(t)
	ns := c.kmNamespace(t)
	ctx := t.Context()
	if _, err := c.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const finalizer = "ansflow.test/hold"
	held := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: ns, Finalizers: []string{finalizer}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "held"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "held"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/held:1"}}},
			},
		},
	}
	if _, err := c.cs.AppsV1().Deployments(ns).Create(ctx, held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		_, _ = c.cs.AppsV1().Deployments(ns).Patch(context.Background(), "held", types.MergePatchType, patch, metav1.PatchOptions{})
	})
	if err := c.cs.AppsV1().Deployments(ns).Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata: {name: held}
spec:
  selector: {matchLabels: {app: held}}
  template:
    metadata: {labels: {app: held}}
    spec: {containers: [{name: app, image: registry.invalid/held:2}]}
`
	in := inputs(t, "k8s_deploy", map[string]cty.Value{"namespace": cty.StringVal(ns), "manifest": cty.StringVal(manifest)})
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	_, pl := newLogs(t)
	_, err := c.p.Steps()["k8s_deploy"].Apply(wctx, providers.ApplyRequest{Addr: "k8s_deploy.held", Env: providers.Env{LogDir: t.TempDir()}, Action: providers.Create, Inputs: in, Logs: pl})
	if err == nil || !strings.Contains(err.Error(), "deployment/held is being deleted") || wctx.Err() != nil {
		t.Fatalf("apply of a deployment being deleted: %v (context: %v); want it to fail at once saying it is being deleted", err, wctx.Err())
	}
}
