package kubernetes

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers"
)

// These tests need a real API server: `eval "$(hack/testenv/up.sh)"` starts one
// and sets KUBECONFIG. Without one they skip, except in CI where they fail.

type cluster struct {
	cs *kubernetes.Clientset
	p  *Provider
}

func needCluster(t testing.TB) *cluster {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		msg := why + `; start one with: eval "$(hack/testenv/up.sh)"`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	kc := os.Getenv("KUBECONFIG")
	if kc == "" {
		unavailable("KUBECONFIG is not set, so there is no Kubernetes API server to test against")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		unavailable(fmt.Sprintf("KUBECONFIG=%s is unusable: %v", kc, err))
	}
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		unavailable(fmt.Sprintf("the API server of KUBECONFIG=%s does not answer: %v", kc, err))
	}
	cfg.Timeout = 0
	return &cluster{cs: kubernetes.NewForConfigOrDie(cfg), p: New()}
}

// namespace creates a fresh namespace for one test and deletes it afterwards.
func (c *cluster) namespace(t *testing.T) string {
	t.Helper()
	return c.namespaceNamed(t, "ansflow-test-")
}

// namespaceNamed creates a fresh namespace prefix-XXXXX, deleted afterwards.
func (c *cluster) namespaceNamed(t testing.TB, prefix string) string {
	t.Helper()
	ns, err := c.cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

// inputs builds a step's input object as the engine would: every attribute
// of the schema, given values converted to its type, defaults applied.
func inputs(t testing.TB, stepType string, given map[string]cty.Value) cty.Value {
	t.Helper()
	s := lookupSchema(stepType)
	vals := map[string]cty.Value{}
	for _, a := range s.Inputs {
		v, ok := given[a.Name]
		switch {
		case ok && a.Type != cty.DynamicPseudoType:
			cv, err := convert.Convert(v, a.Type)
			if err != nil {
				t.Fatalf("%s.%s: %v", stepType, a.Name, err)
			}
			v = cv
		case !ok && a.Default != cty.NilVal:
			v = a.Default
		case !ok:
			v = cty.NullVal(a.Type)
		}
		vals[a.Name] = v
		delete(given, a.Name)
	}
	for k := range given {
		t.Fatalf("%s has no input %q", stepType, k)
	}
	return cty.ObjectVal(vals)
}

// logs collects a step's output and reports progress in the test log.
type logs struct {
	mu             sync.Mutex
	stdout, stderr bytes.Buffer
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func newLogs(t testing.TB) (*logs, providers.Logs) {
	l := &logs{}
	return l, providers.Logs{
		Stdout:   lockedWriter{&l.mu, &l.stdout},
		Stderr:   lockedWriter{&l.mu, &l.stderr},
		Progress: func(msg string) { t.Log("progress: " + msg) },
	}
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stdout.String() + l.stderr.String()
}

func (c *cluster) apply(t *testing.T, ctx context.Context, stepType string, in cty.Value, prior *providers.Prior) (providers.ApplyResponse, *logs, error) {
	t.Helper()
	l, pl := newLogs(t)
	action := providers.Run
	if lookupSchema(stepType).Kind == config.Declarative {
		action = providers.Create
		if prior != nil {
			action = providers.Update
		}
	}
	resp, err := c.p.Steps()[stepType].Apply(ctx, providers.ApplyRequest{
		Addr: stepType + ".test", Env: providers.Env{LogDir: t.TempDir()}, Action: action, Inputs: in, Prior: prior, Logs: pl,
	})
	if err == nil && resp.Outputs != cty.NilVal {
		want := lookupSchema(stepType).OutputType()
		if !resp.Outputs.Type().Equals(want) {
			t.Errorf("%s outputs have type %s, want %s", stepType, resp.Outputs.Type().FriendlyName(), want.FriendlyName())
		}
	}
	return resp, l, err
}

func (c *cluster) mustApply(t *testing.T, stepType string, in cty.Value, prior *providers.Prior) (providers.ApplyResponse, providers.Prior) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	resp, l, err := c.apply(t, ctx, stepType, in, prior)
	if err != nil {
		t.Fatalf("%s: %v\nlogs:\n%s", stepType, err, l)
	}
	return resp, providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}
}

func str(v cty.Value, attr string) string { return v.GetAttr(attr).AsString() }

func num(v cty.Value, attr string) int64 {
	i, _ := v.GetAttr(attr).AsBigFloat().Int64()
	return i
}

func env(kv ...string) cty.Value {
	m := map[string]cty.Value{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = cty.StringVal(kv[i+1])
	}
	return cty.MapVal(m)
}

func webInputs(t *testing.T, ns, name string, replicas int64, version string) cty.Value {
	in := map[string]cty.Value{
		"namespace": cty.StringVal(ns),
		"name":      cty.StringVal(name),
		"image":     cty.StringVal("registry.invalid/" + name + ":1"),
		"env":       env("VERSION", version),
		"ports":     cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"container_port": cty.NumberIntVal(8080)})}),
	}
	if replicas > 0 {
		in["replicas"] = cty.NumberIntVal(replicas)
	}
	return inputs(t, "k8s_deploy", in)
}

func TestDeployLifecycle(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	deploy := c.p.Steps()["k8s_deploy"]

	// Create: compact form, waits until available.
	out, prior := c.mustApply(t, "k8s_deploy", webInputs(t, ns, "web", 2, "1"), nil)
	if str(out.Outputs, "name") != "web" || str(out.Outputs, "namespace") != ns || str(out.Outputs, "selector") != "app=web" ||
		str(out.Outputs, "uid") == "" || num(out.Outputs, "generation") != 1 {
		t.Errorf("outputs = %#v", out.Outputs)
	}
	d, err := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.AvailableReplicas != 2 {
		t.Errorf("available replicas = %d after apply, want 2", d.Status.AvailableReplicas)
	}

	// The same inputs again change nothing at the API.
	out2, prior := c.mustApply(t, "k8s_deploy", webInputs(t, ns, "web", 2, "1"), &prior)
	d2, _ := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if d2.Generation != d.Generation || d2.ResourceVersion != d.ResourceVersion || num(out2.Outputs, "generation") != 1 {
		t.Errorf("second identical apply changed the object: generation %d -> %d, resourceVersion %s -> %s", d.Generation, d2.Generation, d.ResourceVersion, d2.ResourceVersion)
	}

	// Read with a changed env: no drift, and the dry-run Diff names the field.
	rr, err := deploy.Read(t.Context(), providers.ReadRequest{Desired: webInputs(t, ns, "web", 2, "2"), Prior: prior})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Gone || len(rr.Drift) != 0 {
		t.Errorf("read before any outside change: gone=%v drift=%v", rr.Gone, rr.Drift)
	}
	wantDiff := providers.Drift{Path: "spec.template.spec.containers[web].env.VERSION", Before: "1", After: "2"}
	if len(rr.Diff) != 1 || rr.Diff[0] != wantDiff {
		t.Errorf("diff = %+v, want [%+v]", rr.Diff, wantDiff)
	}

	// Applying it updates in place: same uid, next generation.
	out3, prior := c.mustApply(t, "k8s_deploy", webInputs(t, ns, "web", 2, "2"), &prior)
	if str(out3.Outputs, "uid") != str(out.Outputs, "uid") || num(out3.Outputs, "generation") != 2 {
		t.Errorf("env change: uid %s -> %s, generation %d", str(out.Outputs, "uid"), str(out3.Outputs, "uid"), num(out3.Outputs, "generation"))
	}

	// Scaling by hand (another field manager) shows as drift.
	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
	if _, err := c.cs.AppsV1().Deployments(ns).UpdateScale(t.Context(), "web", scale, metav1.UpdateOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatal(err)
	}
	rr, err = deploy.Read(t.Context(), providers.ReadRequest{Desired: cty.DynamicVal, Prior: prior})
	if err != nil {
		t.Fatal(err)
	}
	if want := (providers.Drift{Path: "replicas", Before: "2", After: "5"}); len(rr.Drift) != 1 || rr.Drift[0] != want {
		t.Errorf("drift after a manual scale = %+v, want [%+v]", rr.Drift, want)
	}

	// Applying again does not take replicas from the other manager; it says so.
	_, l, err := c.apply(t, t.Context(), "k8s_deploy", webInputs(t, ns, "web", 2, "2"), &prior)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(l.String(), `leaving spec.replicas to "kubectl"`) {
		t.Errorf("apply over a foreign replicas owner logged:\n%s", l)
	}
	if d, _ := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{}); *d.Spec.Replicas != 5 {
		t.Errorf("replicas = %d, want 5 (left to the other manager)", *d.Spec.Replicas)
	}

	// Delete removes it and waits until it is gone; Read then says Gone.
	_, pl := newLogs(t)
	if err := deploy.Delete(t.Context(), providers.DeleteRequest{Prior: prior, Logs: pl}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after Delete: %v", err)
	}
	if rr, _ := deploy.Read(t.Context(), providers.ReadRequest{Prior: prior}); !rr.Gone {
		t.Error("Read after Delete: not gone")
	}
}

// manifest returns what yamldecode gives for a ConfigMap and a Deployment.
func manifest(name string) cty.Value {
	labels := cty.ObjectVal(map[string]cty.Value{"app": cty.StringVal(name)})
	cm := cty.ObjectVal(map[string]cty.Value{
		"apiVersion": cty.StringVal("v1"), "kind": cty.StringVal("ConfigMap"),
		"metadata": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name + "-config")}),
		"data":     cty.ObjectVal(map[string]cty.Value{"greeting": cty.StringVal("hello")}),
	})
	dep := cty.ObjectVal(map[string]cty.Value{
		"apiVersion": cty.StringVal("apps/v1"), "kind": cty.StringVal("Deployment"),
		"metadata": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name), "labels": labels}),
		"spec": cty.ObjectVal(map[string]cty.Value{
			"replicas": cty.NumberIntVal(2),
			"selector": cty.ObjectVal(map[string]cty.Value{"matchLabels": labels}),
			"template": cty.ObjectVal(map[string]cty.Value{
				"metadata": cty.ObjectVal(map[string]cty.Value{"labels": labels}),
				"spec": cty.ObjectVal(map[string]cty.Value{"containers": cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
					"name": cty.StringVal(name), "image": cty.StringVal("registry.invalid/x:1"),
					"ports": cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"containerPort": cty.NumberIntVal(80)})}),
				})})}),
			}),
		}),
	})
	return cty.TupleVal([]cty.Value{cm, dep})
}

func TestDeployManifest(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	in := inputs(t, "k8s_deploy", map[string]cty.Value{"namespace": cty.StringVal(ns), "manifest": manifest("site")})
	out, prior := c.mustApply(t, "k8s_deploy", in, nil)
	if str(out.Outputs, "name") != "site" || str(out.Outputs, "selector") != "app=site" {
		t.Errorf("outputs = %#v", out.Outputs)
	}
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Get(t.Context(), "site-config", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
	if d, err := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "site", metav1.GetOptions{}); err != nil || d.Status.AvailableReplicas != 2 {
		t.Errorf("deployment: %v, %+v", err, d.Status)
	}
	// Editing the ConfigMap by hand is drift on the manifest's field.
	cm, _ := c.cs.CoreV1().ConfigMaps(ns).Get(t.Context(), "site-config", metav1.GetOptions{})
	cm.Data["greeting"] = "bye"
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Update(t.Context(), cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	rr, err := c.p.Steps()["k8s_deploy"].Read(t.Context(), providers.ReadRequest{Prior: prior})
	if err != nil {
		t.Fatal(err)
	}
	if want := (providers.Drift{Path: "configmap/site-config.data.greeting", Before: "hello", After: "bye"}); len(rr.Drift) != 1 || rr.Drift[0] != want {
		t.Errorf("drift = %+v, want [%+v]", rr.Drift, want)
	}
	_, pl := newLogs(t)
	if err := c.p.Steps()["k8s_deploy"].Delete(t.Context(), providers.DeleteRequest{Prior: prior, Logs: pl}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Get(t.Context(), "site-config", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("configmap after Delete: %v", err)
	}
}

func TestScale(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	_, deployPrior := c.mustApply(t, "k8s_deploy", webInputs(t, ns, "api", 0, "1"), nil)

	in := inputs(t, "k8s_scale", map[string]cty.Value{"namespace": cty.StringVal(ns), "kind": cty.StringVal("deploy"), "name": cty.StringVal("api"), "replicas": cty.NumberIntVal(3)})
	out, prior := c.mustApply(t, "k8s_scale", in, nil)
	if num(out.Outputs, "replicas") != 3 {
		t.Errorf("outputs = %#v", out.Outputs)
	}
	if d, _ := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "api", metav1.GetOptions{}); d.Status.ReadyReplicas != 3 {
		t.Errorf("ready replicas = %d after k8s_scale, want 3", d.Status.ReadyReplicas)
	}
	// Re-applying the deployment (replicas unset) leaves the scale alone.
	c.mustApply(t, "k8s_deploy", webInputs(t, ns, "api", 0, "1"), &deployPrior)
	if d, _ := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "api", metav1.GetOptions{}); *d.Spec.Replicas != 3 {
		t.Errorf("k8s_deploy without replicas reset them to %d", *d.Spec.Replicas)
	}
	scale := c.p.Steps()["k8s_scale"]
	if rr, err := scale.Read(t.Context(), providers.ReadRequest{Prior: prior}); err != nil || len(rr.Drift) != 0 {
		t.Errorf("read: %v, drift %v", err, rr.Drift)
	}
	s := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 4}}
	if _, err := c.cs.AppsV1().Deployments(ns).UpdateScale(t.Context(), "api", s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rr, err := scale.Read(t.Context(), providers.ReadRequest{Prior: prior})
	if want := (providers.Drift{Path: "replicas", Before: "3", After: "4"}); err != nil || len(rr.Drift) != 1 || rr.Drift[0] != want {
		t.Errorf("read after manual scale: %v, drift %+v, want [%+v]", err, rr.Drift, want)
	}
}

func configMap(t *testing.T, c *cluster, ns, name string, labels map[string]string) {
	t.Helper()
	_, err := c.cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDelete(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	configMap(t, c, ns, "one", nil)
	configMap(t, c, ns, "two", map[string]string{"tier": "cache"})
	configMap(t, c, ns, "three", map[string]string{"tier": "cache"})
	_, _ = c.mustApply(t, "k8s_deploy", webInputs(t, ns, "gone", 1, "1"), nil)

	tests := []struct {
		name  string
		given map[string]cty.Value
		want  []string
	}{
		{"by name", map[string]cty.Value{"kind": cty.StringVal("cm"), "name": cty.StringVal("one")}, []string{"configmap/one"}},
		{"by selector", map[string]cty.Value{"kind": cty.StringVal("configmap"), "selector": cty.StringVal("tier=cache")}, []string{"configmap/three", "configmap/two"}},
		{"nothing to delete", map[string]cty.Value{"kind": cty.StringVal("configmap"), "name": cty.StringVal("one")}, nil},
		{"foreground deployment", map[string]cty.Value{"kind": cty.StringVal("deployments.apps"), "name": cty.StringVal("gone"), "propagation": cty.StringVal("foreground")}, []string{"deployment/gone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.given["namespace"] = cty.StringVal(ns)
			out, _ := c.mustApply(t, "k8s_delete", inputs(t, "k8s_delete", tt.given), nil)
			var got []string
			for _, v := range out.Outputs.GetAttr("deleted").AsValueSlice() {
				got = append(got, v.AsString())
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("deleted = %v, want %v", got, tt.want)
			}
		})
	}
	if pods, _ := c.cs.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=gone"}); len(pods.Items) != 0 {
		t.Errorf("foreground delete left %d pods", len(pods.Items))
	}
}

// TestWaitForLateDeployment starts waiting before the deployment exists and
// measures how long after it became available the wait returned.
func TestWaitForLateDeployment(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	in := inputs(t, "k8s_wait", map[string]cty.Value{"namespace": cty.StringVal(ns), "kind": cty.StringVal("deployment"), "name": cty.StringVal("late"), "condition": cty.StringVal("available")})

	// An independent watch notes when the deployment became available.
	availableAt := make(chan time.Time, 1)
	go func() {
		w, err := c.cs.AppsV1().Deployments(ns).Watch(t.Context(), metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "late").String()})
		if err != nil {
			return
		}
		defer w.Stop()
		for ev := range w.ResultChan() {
			if d, ok := ev.Object.(*appsv1.Deployment); ok && d.Status.AvailableReplicas == 2 && d.Status.ObservedGeneration >= d.Generation {
				availableAt <- time.Now()
				return
			}
		}
	}()
	go func() {
		time.Sleep(time.Second)
		late := webInputs(t, ns, "late", 2, "1")
		late = cty.ObjectVal(withAttr(late, "wait", cty.False))
		if _, _, err := c.apply(t, t.Context(), "k8s_deploy", late, nil); err != nil {
			t.Errorf("creating the deployment: %v", err)
		}
	}()
	start := time.Now()
	out, _ := c.mustApply(t, "k8s_wait", in, nil)
	returned := time.Now()
	if got, want := str(out.Outputs, "observed"), "deployment/late available (2/2 replicas)"; got != want {
		t.Errorf("observed = %q, want %q", got, want)
	}
	if returned.Sub(start) < time.Second {
		t.Errorf("wait returned after %v, before the deployment was created", returned.Sub(start))
	}
	select {
	case at := <-availableAt:
		t.Logf("k8s_wait returned %v after the deployment became available", returned.Sub(at))
	case <-time.After(5 * time.Second):
		t.Log("the independent watch did not see the deployment become available")
	}
}

func withAttr(obj cty.Value, name string, v cty.Value) map[string]cty.Value {
	m := obj.AsValueMap()
	m[name] = v
	return m
}

func TestWaitDeleted(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	configMap(t, c, ns, "doomed", nil)
	go func() {
		time.Sleep(500 * time.Millisecond)
		_ = c.cs.CoreV1().ConfigMaps(ns).Delete(context.Background(), "doomed", metav1.DeleteOptions{})
	}()
	in := inputs(t, "k8s_wait", map[string]cty.Value{"namespace": cty.StringVal(ns), "kind": cty.StringVal("cm"), "name": cty.StringVal("doomed"), "condition": cty.StringVal("deleted")})
	out, _ := c.mustApply(t, "k8s_wait", in, nil)
	if got := str(out.Outputs, "observed"); got != "configmap/doomed deleted" {
		t.Errorf("observed = %q", got)
	}
	// A status condition by type, case-insensitively, on a selector.
	in = inputs(t, "k8s_wait", map[string]cty.Value{"namespace": cty.StringVal(ns), "kind": cty.StringVal("node"), "selector": cty.StringVal("type=kwok"), "condition": cty.StringVal("ready")})
	if out, _ = c.mustApply(t, "k8s_wait", in, nil); !strings.Contains(str(out.Outputs, "observed"), "Ready=True") {
		t.Errorf("observed = %q", str(out.Outputs, "observed"))
	}
}

// TestRolloutFailsFast uses the testenv's fault Stages (hack/testenv/stages):
// pods labelled ansflow-test/fault never become ready.
func TestRolloutFailsFast(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	for _, fault := range []string{"crashloop", "imagepull"} {
		t.Run(fault, func(t *testing.T) {
			in := webInputs(t, ns, "bad-"+fault, 1, "1")
			in = cty.ObjectVal(withAttr(in, "labels", cty.MapVal(map[string]cty.Value{"ansflow-test/fault": cty.StringVal(fault)})))
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			start := time.Now()
			_, _, err := c.apply(t, ctx, "k8s_deploy", in, nil)
			took := time.Since(start)
			if err == nil {
				t.Fatal("rollout of a failing pod succeeded")
			}
			t.Logf("failed after %v:\n%v", took, err)
			if took > 15*time.Second {
				t.Errorf("took %v to fail; want seconds, not the timeout", took)
			}
			want := map[string][]string{
				"crashloop": {"CrashLoopBackOff", "last exit code 1", "Warning BackOff", "last log lines"},
				"imagepull": {"ImagePullBackOff", "Warning Failed"},
			}[fault]
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q", w)
				}
			}
		})
	}
}

func TestExecAndLogs(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	c.mustApply(t, "k8s_deploy", webInputs(t, ns, "shell", 1, "1"), nil)

	run := func(cmd []string, expect int64) (providers.ApplyResponse, error) {
		in := inputs(t, "k8s_exec", map[string]cty.Value{
			"namespace": cty.StringVal(ns), "pod_selector": cty.StringVal("app=shell"), "container": cty.StringVal("shell"),
			"command": stringList(cmd), "expect_exit_code": cty.NumberIntVal(expect),
		})
		resp, _, err := c.apply(t, t.Context(), "k8s_exec", in, nil)
		return resp, err
	}
	resp, err := run([]string{"sh", "-c", "echo out; echo err >&2"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if str(resp.Outputs, "stdout") != "out\n" || str(resp.Outputs, "stderr") != "err\n" || num(resp.Outputs, "exit_code") != 0 {
		t.Errorf("outputs = %#v", resp.Outputs)
	}
	resp, err = run([]string{"sh", "-c", "exit 3"}, 0)
	if err == nil || !strings.Contains(err.Error(), "exited with code 3") || num(resp.Outputs, "exit_code") != 3 {
		t.Errorf("exit 3: err = %v, outputs = %#v", err, resp.Outputs)
	}
	if _, err := run([]string{"sh", "-c", "exit 3"}, 3); err != nil {
		t.Errorf("exit 3 with expect_exit_code = 3: %v", err)
	}

	in := inputs(t, "k8s_logs", map[string]cty.Value{"namespace": cty.StringVal(ns), "pod_selector": cty.StringVal("app=shell"), "tail_lines": cty.NumberIntVal(1)})
	out, _ := c.mustApply(t, "k8s_logs", in, nil)
	text := str(out.Outputs, "logs")
	if strings.Count(text, "\n") != 1 {
		t.Errorf("tail_lines = 1 gave %q", text)
	}
	if b, err := os.ReadFile(str(out.Outputs, "path")); err != nil || string(b) != text {
		t.Errorf("stored log file: %v, %q", err, b)
	}
}

func TestErrorsReadLikeKubectl(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	in := inputs(t, "k8s_exec", map[string]cty.Value{"namespace": cty.StringVal(ns), "pod": cty.StringVal("nope"), "command": stringList([]string{"true"})})
	_, _, err := c.apply(t, t.Context(), "k8s_exec", in, nil)
	if want := `Error from server (NotFound): pods "nope" not found`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	in = inputs(t, "k8s_wait", map[string]cty.Value{"namespace": cty.StringVal(ns), "kind": cty.StringVal("gizmo"), "name": cty.StringVal("x"), "condition": cty.StringVal("ready")})
	if _, _, err := c.apply(t, t.Context(), "k8s_wait", in, nil); err == nil || !strings.Contains(err.Error(), `doesn't have a resource type "gizmo"`) {
		t.Errorf("unknown kind: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	in = inputs(t, "k8s_wait", map[string]cty.Value{"namespace": cty.StringVal(ns), "kind": cty.StringVal("deploy"), "name": cty.StringVal("never"), "condition": cty.StringVal("available")})
	if _, _, err := c.apply(t, ctx, "k8s_wait", in, nil); err == nil || !strings.Contains(err.Error(), "timed out waiting for deployment/never") {
		t.Errorf("timeout: %v", err)
	}
}

// TestScaleOverDeployReplicas: a k8s_scale step owns replicas next to a
// k8s_deploy that sets them; the deploy neither shows drift nor scales back.
func TestScaleOverDeployReplicas(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	_, deployPrior := c.mustApply(t, "k8s_deploy", webInputs(t, ns, "both", 2, "1"), nil)
	in := inputs(t, "k8s_scale", map[string]cty.Value{"namespace": cty.StringVal(ns), "name": cty.StringVal("both"), "replicas": cty.NumberIntVal(4)})
	c.mustApply(t, "k8s_scale", in, nil)

	rr, err := c.p.Steps()["k8s_deploy"].Read(t.Context(), providers.ReadRequest{Desired: webInputs(t, ns, "both", 2, "1"), Prior: deployPrior})
	if err != nil || len(rr.Drift) != 0 || len(rr.Diff) != 0 {
		t.Errorf("read after k8s_scale: %v, drift %+v, diff %+v", err, rr.Drift, rr.Diff)
	}
	_, l, err := c.apply(t, t.Context(), "k8s_deploy", webInputs(t, ns, "both", 2, "1"), &deployPrior)
	if err != nil || !strings.Contains(l.String(), `leaving spec.replicas to "ansflow-scale"`) {
		t.Errorf("re-apply: %v, log:\n%s", err, l)
	}
	if d, _ := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "both", metav1.GetOptions{}); *d.Spec.Replicas != 4 {
		t.Errorf("replicas = %d, want 4 (k8s_scale's)", *d.Spec.Replicas)
	}
}
