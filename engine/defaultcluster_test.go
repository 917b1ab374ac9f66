package engine_test

import (
	"testing"

	"github.com/ansflow/ansflow/engine"
)

// TestDefaultCluster checks that an input its schema marks DefaultCluster
// (k8s_deploy's cluster), left unset, takes the only cluster block, and
// stays null when there are two.
func TestDefaultCluster(t *testing.T) {
	cases := []struct {
		name     string
		clusters string
		want     string // the cluster's namespace the provider saw; "" for null
	}{
		{"one cluster block", `cluster "dev" { namespace = "team" }`, "team"},
		{"two cluster blocks", `cluster "dev" { namespace = "team" }
cluster "prod" { namespace = "prod" }`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.write(c.clusters + `
k8s_deploy "web" {
  name  = "web"
  image = "web:1"
}
`)
			h.apply(engine.Options{})
			h.fake.mu.Lock()
			cluster := h.fake.objects["k8s_deploy.web"].GetAttr("cluster")
			h.fake.mu.Unlock()
			got := ""
			if !cluster.IsNull() {
				got = cluster.GetAttr("namespace").AsString()
			}
			if got != c.want {
				t.Errorf("the provider saw cluster %#v, want the namespace %q", cluster, c.want)
			}
		})
	}
}
