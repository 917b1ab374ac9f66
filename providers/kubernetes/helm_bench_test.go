package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/storage/driver"

	"github.com/ansflow/ansflow/providers"
)

// BenchmarkHelmRelease50 times a chart of 50 objects (a Deployment, a
// Service, 48 ConfigMaps): helm_release's apply (an upgrade that changes
// every object and waits) and its no-op plan (fingerprint, refresh and
// dry-run diff), next to the SDK's own upgrade --install as the helm command
// runs it. Opt in with ANSFLOW_K8S_BENCH=1:
//
//	ANSFLOW_K8S_BENCH=1 go test ./providers/kubernetes -run '^$' -bench HelmRelease50 -benchtime 10x
func BenchmarkHelmRelease50(b *testing.B) {
	if os.Getenv("ANSFLOW_K8S_BENCH") == "" {
		b.Skip("set ANSFLOW_K8S_BENCH=1 to run the 50-object chart comparison")
	}
	c := needCluster(b)
	chart := testChart{name: "hr-bench", version: "0.1.0", configMaps: 48}.write(b, b.TempDir())
	step := &helmReleaseStep{p: c.p}
	ctx := context.Background()

	b.Run("ansflow-apply", func(b *testing.B) {
		ns := c.hrNamespace(b)
		in := func(v int) cty.Value {
			return helmInputs(b, map[string]cty.Value{"namespace": cty.StringVal(ns), "name": cty.StringVal("hr-bench"), "chart": cty.StringVal(chart),
				"values": cty.ObjectVal(map[string]cty.Value{"version": cty.StringVal(fmt.Sprint(v))})})
		}
		var prior *providers.Prior
		i := 0
		for b.Loop() {
			resp, err := step.Apply(ctx, providers.ApplyRequest{Inputs: in(i), Prior: prior, Logs: quietLogs()})
			if err != nil {
				b.Fatal(err)
			}
			prior = &providers.Prior{Inputs: in(i), Outputs: resp.Outputs, Private: resp.Private}
			i++
		}
	})

	b.Run("ansflow-noop-plan", func(b *testing.B) {
		ns := c.hrNamespace(b)
		in := helmInputs(b, map[string]cty.Value{"namespace": cty.StringVal(ns), "name": cty.StringVal("hr-bench"), "chart": cty.StringVal(chart)})
		resp, err := step.Apply(ctx, providers.ApplyRequest{Inputs: in, Logs: quietLogs()})
		if err != nil {
			b.Fatal(err)
		}
		prior := providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}
		for b.Loop() {
			if _, err := step.Fingerprint(ctx, providers.FingerprintRequest{Inputs: in}); err != nil {
				b.Fatal(err)
			}
			rr, err := step.Read(ctx, providers.ReadRequest{Desired: in, Prior: prior})
			if err != nil || len(rr.Drift)+len(rr.Diff) != 0 {
				b.Fatalf("no-op read: %+v, %v", rr, err)
			}
		}
	})

	b.Run("sdk-upgrade-install", func(b *testing.B) { sdkUpgradeInstall(b, c, chart) })
	// The same with ansflow's client-side rate limit (50 requests/s) instead
	// of client-go's default 5 that the helm command keeps unless --qps.
	b.Run("sdk-upgrade-install-qps50", func(b *testing.B) { sdkUpgradeInstall(b, c, chart, 50) })
}

// sdkUpgradeInstall is `helm upgrade --install --wait` of the chart, with
// the SDK's actions configured as the helm command configures them.
func sdkUpgradeInstall(b *testing.B, c *cluster, chart string, qps ...float32) {
	ctx := context.Background()
	ns := c.hrNamespace(b)
	cfg := helmCLI(b, ns, qps...)
	ch, _, err := chartSource{ref: chart, path: chart}.load()
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		vals := map[string]any{"version": fmt.Sprint(i)}
		if _, err := action.NewHistory(cfg).Run("hr-bench"); errors.Is(err, driver.ErrReleaseNotFound) {
			in := action.NewInstall(cfg)
			in.ReleaseName, in.Namespace, in.WaitStrategy, in.Timeout = "hr-bench", ns, kube.StatusWatcherStrategy, 5*time.Minute
			if _, err := in.RunWithContext(ctx, ch, vals); err != nil {
				b.Fatal(err)
			}
		} else {
			up := action.NewUpgrade(cfg)
			up.Namespace, up.WaitStrategy, up.Timeout = ns, kube.StatusWatcherStrategy, 5*time.Minute
			if _, err := up.RunWithContext(ctx, "hr-bench", ch, vals); err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
}

func quietLogs() providers.Logs { return providers.Logs{Stdout: discard{}, Stderr: discard{}} }
