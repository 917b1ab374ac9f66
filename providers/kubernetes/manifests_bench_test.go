package kubernetes

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/ansflow/ansflow/providers"
)

// manifest50 is a 50-object manifest: its Namespace, and ten apps of a
// Deployment, a Service, a ConfigMap, a ServiceAccount and (but one) a Secret.
func manifest50(ns string) string {
	docs := []string{fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns)}
	for i := range 10 {
		app := fmt.Sprintf("app-%02d", i)
		docs = append(docs,
			fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {LEVEL: info, INDEX: \"%d\"}\n", app, i),
			fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s}\n", app),
			fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %[1]s}\nspec:\n  selector: {app: %[1]s}\n  ports: [{port: 80, targetPort: 8080}]\n", app),
			fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      serviceAccountName: %[1]s
      containers:
      - name: %[1]s
        image: registry.invalid/%[1]s:1
        envFrom: [{configMapRef: {name: %[1]s}}]
        ports: [{containerPort: 8080}]
`, app))
		if i > 0 {
			docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: %s}\nstringData: {token: t%d}\n", app, i))
		}
	}
	return strings.Join(docs, "---\n")
}

// BenchmarkManifest50 measures k8s_deploy with a 50-object manifest on the
// test control plane: a first apply into a new namespace (waiting until
// every Deployment is rolled out), and the refresh of a plan that finds
// nothing to do (Read with the same inputs: a GET and a server-side dry
// run per object). For comparison, `kubectl apply --server-side -f` of the
// same file (no wait) when kubectl is found (ANSFLOW_TESTENV_BIN or PATH).
// Opt in with ANSFLOW_K8S_BENCH=1.
func BenchmarkManifest50(b *testing.B) {
	if os.Getenv("ANSFLOW_K8S_BENCH") == "" {
		b.Skip("set ANSFLOW_K8S_BENCH=1 to run the 50-object manifest benchmark")
	}
	c := needCluster(b)
	step := c.p.Steps()["k8s_deploy"]
	var namespaces []string
	b.Cleanup(func() {
		for _, ns := range namespaces {
			_ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	newInputs := func() cty.Value {
		ns := "km-bench-" + rand.String(6)
		namespaces = append(namespaces, ns)
		return inputs(b, "k8s_deploy", map[string]cty.Value{"namespace": cty.StringVal(ns), "manifest": cty.StringVal(manifest50(ns))})
	}
	apply := func(b *testing.B, in cty.Value, prior *providers.Prior) providers.Prior {
		l, pl := newLogs(b)
		resp, err := step.Apply(b.Context(), providers.ApplyRequest{Addr: "k8s_deploy.bench", Env: providers.Env{LogDir: b.TempDir()}, Inputs: in, Prior: prior, Logs: pl})
		if err != nil {
			b.Fatalf("%v\n%s", err, l)
		}
		return providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}
	}

	b.Run("apply", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			in := newInputs()
			b.StartTimer()
			apply(b, in, nil)
		}
	})
	in := newInputs()
	prior := apply(b, in, nil)
	b.Run("noop-plan", func(b *testing.B) {
		for b.Loop() {
			rr, err := step.Read(b.Context(), providers.ReadRequest{Desired: in, Prior: prior})
			if err != nil || len(rr.Diff) != 0 || len(rr.Drift) != 0 {
				b.Fatalf("refresh: %v, diff %+v, drift %+v", err, rr.Diff, rr.Drift)
			}
		}
	})
	b.Run("noop-apply", func(b *testing.B) {
		for b.Loop() {
			prior = apply(b, in, &prior)
		}
	})

	kubectl := "kubectl"
	if bin := os.Getenv("ANSFLOW_TESTENV_BIN"); bin != "" {
		kubectl = filepath.Join(bin, "kubectl")
	}
	if _, err := exec.LookPath(kubectl); err != nil {
		return
	}
	b.Run("kubectl-apply", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			ns := "km-bench-" + rand.String(6)
			namespaces = append(namespaces, ns)
			file := filepath.Join(b.TempDir(), "app.yaml")
			if err := os.WriteFile(file, []byte(manifest50(ns)), 0o644); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if out, err := exec.CommandContext(b.Context(), kubectl, "apply", "--server-side", "-n", ns, "-f", file).CombinedOutput(); err != nil {
				b.Fatalf("kubectl apply: %v\n%s", err, out)
			}
		}
	})
}
