package cmd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sclient "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestBackendScripts runs the CLI scripts of testdata/backend against the
// Kubernetes API server of $KUBECONFIG (hack/testenv/up.sh starts one):
// they skip without one, except in CI where they fail. Each script gets its
// own namespace, made the current context's namespace in the kubeconfig
// $HOME/.kube/config the script sees as KUBECONFIG, so pipelines can say
// backend "kubernetes" { name = "..." } without a namespace.
func TestBackendScripts(t *testing.T) {
	kc := os.Getenv("KUBECONFIG")
	if kc == "" {
		msg := "KUBECONFIG is not set, so there is no Kubernetes API server to test the kubernetes backend against"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (start one with: eval \"$(hack/testenv/up.sh)\")")
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	raw, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	client, err := k8sclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "backend"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			n++
			ns := fmt.Sprintf("ansflow-cli-%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6, n)
			ctx := context.Background()
			_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			env.Defer(func() { _ = client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) })
			mine := raw.DeepCopy()
			mine.Contexts[mine.CurrentContext].Namespace = ns
			path := filepath.Join(env.WorkDir, ".kube", "config")
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return err
			}
			if err := clientcmd.WriteToFile(*mine, path); err != nil {
				return err
			}
			env.Setenv("KUBECONFIG", path)
			env.Setenv("NS", ns)
			env.Setenv("NO_COLOR", "1")
			env.Setenv("ANSFLOW_WORKSPACE", "")
			return nil
		},
	})
}
