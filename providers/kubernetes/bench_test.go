package kubernetes

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestApplyHundredDeployments compares applying 100 independent Deployments
// through the provider, 10 at a time, with a sequential `kubectl apply -f`
// loop over equivalent manifests. Opt in with ANSFLOW_K8S_BENCH=1; kubectl is
// taken from ANSFLOW_TESTENV_BIN (hack/testenv) or PATH.
func TestApplyHundredDeployments(t *testing.T) {
	if os.Getenv("ANSFLOW_K8S_BENCH") == "" {
		t.Skip("set ANSFLOW_K8S_BENCH=1 to run the 100-deployment comparison")
	}
	c := needCluster(t)
	const n, parallel = 100, 10

	for _, wait := range []bool{false, true} {
		ns := c.namespace(t)
		start := time.Now()
		g, ctx := errgroup.WithContext(t.Context())
		g.SetLimit(parallel)
		for i := range n {
			g.Go(func() error {
				in := webInputs(t, ns, fmt.Sprintf("app-%03d", i), 1, "1")
				in = cty.ObjectVal(withAttr(in, "wait", cty.BoolVal(wait)))
				_, l, err := c.apply(t, ctx, "k8s_deploy", in, nil)
				if err != nil {
					return fmt.Errorf("%v\n%s", err, l)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		t.Logf("provider, %d at a time, wait=%v: %d deployments in %v", parallel, wait, n, time.Since(start).Round(time.Millisecond))
		c.removeNamespace(t, ns)
	}

	kubectl := "kubectl"
	if bin := os.Getenv("ANSFLOW_TESTENV_BIN"); bin != "" {
		kubectl = filepath.Join(bin, "kubectl")
	}
	ns := c.namespace(t)
	dir := t.TempDir()
	for i := range n {
		name := fmt.Sprintf("app-%03d", i)
		m := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: %[2]s, labels: {app: %[1]s}}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers:
      - name: %[1]s
        image: registry.invalid/%[1]s:1
        env: [{name: VERSION, value: "1"}]
        ports: [{containerPort: 8080}]
`, name, ns)
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for i := range n {
		cmd := exec.CommandContext(context.Background(), kubectl, "apply", "-f", filepath.Join(dir, fmt.Sprintf("app-%03d.yaml", i)))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, out)
		}
	}
	t.Logf("sequential kubectl apply -f (no wait): %d deployments in %v", n, time.Since(start).Round(time.Millisecond))
}

// removeNamespace deletes ns and waits (with k8s_wait) until it is gone.
func (c *cluster) removeNamespace(t *testing.T, ns string) {
	t.Helper()
	if err := c.cs.CoreV1().Namespaces().Delete(t.Context(), ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	in := inputs(t, "k8s_wait", map[string]cty.Value{"kind": cty.StringVal("namespace"), "name": cty.StringVal(ns), "condition": cty.StringVal("deleted")})
	c.mustApply(t, "k8s_wait", in, nil)
}
