package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/registry"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ansflow/ansflow/providers"
)

// These tests drive helm_release against the project's control plane (see
// integration_test.go) and, for OCI charts, the loopback registries. Release
// and namespace names start with hr-.

const (
	helmTestRegistry     = "127.0.0.1:5000"
	helmTestAuthRegistry = "127.0.0.1:5001" // htpasswd user ci / ci-secret
)

// hrNamespace creates a namespace hr-XXXXX for one test, deleted afterwards.
func (c *cluster) hrNamespace(t testing.TB) string {
	t.Helper()
	return c.namespaceNamed(t, "hr-")
}

// helmCLI is an action.Configuration built the way the helm command builds
// its own (its settings from HELM_* and KUBECONFIG, secrets storage): what
// `helm history` sees. qps > 0 is `helm --qps`.
func helmCLI(t testing.TB, ns string, qps ...float32) *action.Configuration {
	t.Helper()
	settings := cli.New()
	settings.SetNamespace(ns)
	if len(qps) > 0 {
		settings.QPS = qps[0]
	}
	cfg := action.NewConfiguration()
	if err := cfg.Init(settings.RESTClientGetter(), ns, "secrets"); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// history is `helm history NAME`: "1:superseded 2:deployed ...".
func history(t *testing.T, cfg *action.Configuration, name string) string {
	t.Helper()
	rels, err := action.NewHistory(cfg).Run(name)
	if err != nil {
		t.Fatalf("helm history %s: %v", name, err)
	}
	var parts []string
	for _, r := range rels {
		rel := r.(*release.Release)
		parts = append(parts, fmt.Sprintf("%d:%s", rel.Version, rel.Info.Status))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

func ctyObj(kv map[string]cty.Value) cty.Value { return cty.ObjectVal(kv) }

func hasDrift(ds []providers.Drift, path string) (providers.Drift, bool) {
	for _, d := range ds {
		if d.Path == path {
			return d, true
		}
	}
	return providers.Drift{}, false
}

func TestHelmReleaseLifecycle(t *testing.T) {
	c := needCluster(t)
	ns := c.hrNamespace(t)
	step := &helmReleaseStep{p: c.p}
	chart := testChart{name: "hr-app", version: "0.1.0"}.write(t, t.TempDir())
	in := func(replicas int64) cty.Value {
		return helmInputs(t, map[string]cty.Value{
			"namespace": cty.StringVal(ns), "name": cty.StringVal("hr-life"), "chart": cty.StringVal(chart),
			"values": ctyObj(map[string]cty.Value{"replicas": cty.NumberIntVal(replicas)}),
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	apply := func(in cty.Value, prior *providers.Prior) providers.Prior {
		t.Helper()
		l, pl := newLogs(t)
		resp, err := step.Apply(ctx, providers.ApplyRequest{Addr: "helm_release.life", Inputs: in, Prior: prior, Logs: pl})
		if err != nil {
			t.Fatalf("apply: %v\n%s", err, l)
		}
		return providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}
	}
	read := func(desired cty.Value, prior providers.Prior) providers.ReadResponse {
		t.Helper()
		rr, err := step.Read(ctx, providers.ReadRequest{Desired: desired, Prior: prior})
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return rr
	}

	// Install from a directory: waits, outputs name the rendered objects.
	prior := apply(in(2), nil)
	out := prior.Outputs
	if num(out, "revision") != 1 || str(out, "status") != "deployed" || str(out, "chart_version") != "0.1.0" {
		t.Errorf("outputs after install: %#v", out)
	}
	objs := out.GetAttr("objects")
	if objs.LengthInt() != 2 || !objs.Equals(stringList([]string{"service/hr-life-app", "deployment/hr-life-app"})).True() {
		t.Errorf("objects = %#v", objs)
	}
	d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "hr-life-app", metav1.GetOptions{})
	if err != nil || d.Status.AvailableReplicas != 2 {
		t.Fatalf("deployment after install: %v available, err %v", d.Status.AvailableReplicas, err)
	}
	cli := helmCLI(t, ns)
	if h := history(t, cli, "hr-life"); h != "1:deployed" {
		t.Errorf("helm history = %s", h)
	}

	// Nothing changed: no drift, no diff, the same fingerprint (the plan is a no-op).
	fp1, err := step.Fingerprint(ctx, providers.FingerprintRequest{Inputs: in(2)})
	if err != nil {
		t.Fatal(err)
	}
	if rr := read(in(2), prior); rr.Gone || len(rr.Drift) != 0 || len(rr.Diff) != 0 {
		t.Errorf("read of an unchanged release: gone=%v drift=%v diff=%v", rr.Gone, rr.Drift, rr.Diff)
	}
	if fp2, _ := step.Fingerprint(ctx, providers.FingerprintRequest{Inputs: in(2)}); fp2[chart] != fp1[chart] {
		t.Errorf("fingerprint changed without a change: %v -> %v", fp1, fp2)
	}

	// A values change: the dry-run upgrade names the field.
	rr := read(in(3), prior)
	if got, ok := hasDrift(rr.Diff, "deployment/hr-life-app.spec.replicas"); !ok || got.Before != "2" || got.After != "3" || len(rr.Diff) != 1 {
		t.Errorf("diff for replicas 2 -> 3: %+v", rr.Diff)
	}

	// Someone runs `helm upgrade --reuse-values --set version=2`, and scales by hand.
	up := action.NewUpgrade(cli)
	up.ReuseValues, up.WaitStrategy, up.Timeout = true, "hookOnly", time.Minute
	ch, _, err := chartSource{ref: chart, path: chart}.load()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.RunWithContext(ctx, "hr-life", ch, map[string]any{"version": "2"}); err != nil {
		t.Fatal(err)
	}
	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "hr-life-app", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
	if _, err := c.cs.AppsV1().Deployments(ns).UpdateScale(ctx, "hr-life-app", scale, metav1.UpdateOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatal(err)
	}
	rr = read(in(2), prior)
	wantDrift := map[string][2]string{
		"revision": {"1", "2 (Upgrade complete)"},
		"deployment/hr-life-app.spec.template.spec.containers[app].env.VERSION": {"1", "2"},
		"deployment/hr-life-app.spec.replicas":                                  {"2", "5"},
	}
	for path, want := range wantDrift {
		if got, ok := hasDrift(rr.Drift, path); !ok || got.Before != want[0] || got.After != want[1] {
			t.Errorf("drift %s: got %+v, want %s -> %s (all: %+v)", path, got, want[0], want[1], rr.Drift)
		}
	}
	if got, ok := hasDrift(rr.Diff, "deployment/hr-life-app.spec.template.spec.containers[app].env.VERSION"); !ok || got.Before != "2" || got.After != "1" {
		t.Errorf("diff back to the configured values: %+v", rr.Diff)
	}

	// Applying converges: revision 3, replicas back to 2, nothing left to do.
	prior = apply(in(2), &prior)
	if num(prior.Outputs, "revision") != 3 {
		t.Errorf("revision after the converging apply = %d, want 3", num(prior.Outputs, "revision"))
	}
	if d, _ := c.cs.AppsV1().Deployments(ns).Get(ctx, "hr-life-app", metav1.GetOptions{}); *d.Spec.Replicas != 2 {
		t.Errorf("replicas after the converging apply = %d, want 2", *d.Spec.Replicas)
	}
	if rr := read(in(2), prior); len(rr.Drift) != 0 || len(rr.Diff) != 0 {
		t.Errorf("read after converging: drift=%v diff=%v", rr.Drift, rr.Diff)
	}
	if h := history(t, cli, "hr-life"); h != "1:superseded 2:superseded 3:deployed" {
		t.Errorf("helm history = %s", h)
	}

	// Destroy uninstalls; the release and its objects are gone.
	l, pl := newLogs(t)
	if err := step.Delete(ctx, providers.DeleteRequest{Prior: prior, Logs: pl}); err != nil {
		t.Fatalf("delete: %v\n%s", err, l)
	}
	if _, err := action.NewHistory(cli).Run("hr-life"); !errors.Is(err, driver.ErrReleaseNotFound) {
		t.Errorf("history after uninstall: %v, want release not found", err)
	}
	if _, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "hr-life-app", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deployment after uninstall: %v", err)
	}
	if rr := read(in(2), prior); !rr.Gone {
		t.Errorf("read after uninstall: %+v, want gone", rr)
	}
	if err := step.Delete(ctx, providers.DeleteRequest{Prior: prior, Logs: pl}); err != nil {
		t.Errorf("deleting an uninstalled release: %v", err)
	}
}

// pushChart packages the chart at dir and pushes it (helm push) to
// oci://addr/hr-charts, returning the manifest digest.
func pushChart(t *testing.T, dir, addr string, opts ...registry.ClientOption) (tgz, digest string) {
	t.Helper()
	pkg := action.NewPackage()
	pkg.Destination = t.TempDir()
	tgz, err := pkg.Run(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := registry.NewClient(append(opts, registry.ClientOptPlainHTTP())...)
	if err != nil {
		t.Fatal(err)
	}
	ch, _, err := chartSource{ref: tgz, path: tgz}.load()
	if err != nil {
		t.Fatal(err)
	}
	res, err := rc.Push(data, fmt.Sprintf("%s/hr-charts/%s:%s", addr, ch.Metadata.Name, ch.Metadata.Version))
	if err != nil {
		t.Fatalf("helm push to %s: %v", addr, err)
	}
	return tgz, res.Manifest.Digest
}

func requireHelmRegistry(t *testing.T, addr string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v2/")
	if err != nil {
		msg := "the registry on " + addr + " is not reachable (" + err.Error() + "); start one with hack/docker-up.sh"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	resp.Body.Close()
}

func TestHelmReleaseFromPackageAndOCI(t *testing.T) {
	c := needCluster(t)
	requireHelmRegistry(t, helmTestRegistry)
	requireHelmRegistry(t, helmTestAuthRegistry)
	ns := c.hrNamespace(t)
	step := &helmReleaseStep{p: c.p}
	// A name per run: the registry keeps what earlier runs pushed.
	name := fmt.Sprintf("hr-oci-%d", time.Now().UnixNano()%1_000_000)
	dir := testChart{name: name, version: "0.1.0"}.write(t, t.TempDir())
	tgz, digest := pushChart(t, dir, helmTestRegistry)
	_, authDigest := pushChart(t, dir, helmTestAuthRegistry, registry.ClientOptBasicAuth("ci", "ci-secret"))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	open := ctyObj(map[string]cty.Value{"name": cty.StringVal("open"), "address": cty.StringVal(helmTestRegistry), "username": cty.NullVal(cty.String), "password": cty.NullVal(cty.String)})
	auth := ctyObj(map[string]cty.Value{"name": cty.StringVal("auth"), "address": cty.StringVal(helmTestAuthRegistry), "username": cty.StringVal("ci"), "password": cty.StringVal("ci-secret")})
	tests := []struct {
		release, chart, version string
		registry                cty.Value
		fingerprint             string
	}{
		{"hr-tgz", tgz, "", cty.NullVal(cty.DynamicPseudoType), ""},
		{"hr-oci", "oci://" + helmTestRegistry + "/hr-charts/" + name, "0.1.0", open, digest},
		{"hr-oci-tag", "oci://" + helmTestRegistry + "/hr-charts/" + name + ":0.1.0", "", cty.NullVal(cty.DynamicPseudoType), digest},
		{"hr-oci-auth", "oci://" + helmTestAuthRegistry + "/hr-charts/" + name, "0.1.0", auth, authDigest},
	}
	for _, tt := range tests {
		t.Run(tt.release, func(t *testing.T) {
			in := helmInputs(t, map[string]cty.Value{
				"namespace": cty.StringVal(ns), "name": cty.StringVal(tt.release), "chart": cty.StringVal(tt.chart),
				"version": strOrNull(tt.version), "registry": tt.registry,
			})
			fp, err := step.Fingerprint(ctx, providers.FingerprintRequest{Inputs: in})
			if err != nil {
				t.Fatal(err)
			}
			if tt.fingerprint != "" && fp[tt.chart] != tt.fingerprint {
				t.Errorf("fingerprint of %s = %v, want the pushed digest %s", tt.chart, fp, tt.fingerprint)
			}
			l, pl := newLogs(t)
			resp, err := step.Apply(ctx, providers.ApplyRequest{Inputs: in, Logs: pl})
			if err != nil {
				t.Fatalf("apply: %v\n%s", err, l)
			}
			if num(resp.Outputs, "revision") != 1 || str(resp.Outputs, "status") != "deployed" {
				t.Errorf("outputs = %#v", resp.Outputs)
			}
			prior := providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}
			if rr, err := step.Read(ctx, providers.ReadRequest{Desired: in, Prior: prior}); err != nil || len(rr.Drift)+len(rr.Diff) != 0 {
				t.Errorf("read after install: %+v, %v", rr, err)
			}
		})
	}

	// Without the registry block's credentials the authenticated registry refuses.
	in := helmInputs(t, map[string]cty.Value{
		"namespace": cty.StringVal(ns), "name": cty.StringVal("hr-oci-noauth"),
		"chart": cty.StringVal("oci://" + helmTestAuthRegistry + "/hr-charts/" + name), "version": cty.StringVal("0.1.0"),
	})
	if _, err := step.Fingerprint(ctx, providers.FingerprintRequest{Inputs: in}); err == nil {
		t.Errorf("resolving a chart on %s without credentials succeeded", helmTestAuthRegistry)
	}
}

func TestHelmReleaseAtomicRollsBackCrashLoop(t *testing.T) {
	c := needCluster(t)
	ns := c.hrNamespace(t)
	step := &helmReleaseStep{p: c.p}
	chart := testChart{name: "hr-app", version: "0.1.0"}.write(t, t.TempDir())
	in := func(fault string) cty.Value {
		return helmInputs(t, map[string]cty.Value{
			"namespace": cty.StringVal(ns), "name": cty.StringVal("hr-atomic"), "chart": cty.StringVal(chart),
			"atomic": cty.True, "values": ctyObj(map[string]cty.Value{"fault": cty.StringVal(fault), "version": cty.StringVal(fault)}),
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	l, pl := newLogs(t)
	resp, err := step.Apply(ctx, providers.ApplyRequest{Inputs: in(""), Logs: pl})
	if err != nil {
		t.Fatalf("install: %v\n%s", err, l)
	}
	prior := providers.Prior{Inputs: in(""), Outputs: resp.Outputs, Private: resp.Private}

	// The upgrade's pods crash-loop (a kwok Stage): it fails at once with the
	// pod's reason, and atomic rolls back to revision 1.
	l, pl = newLogs(t)
	resp, err = step.Apply(ctx, providers.ApplyRequest{Inputs: in("crashloop"), Prior: &prior, Logs: pl})
	if err == nil {
		t.Fatalf("an upgrade whose pods crash-loop succeeded\n%s", l)
	}
	t.Logf("the failed upgrade says:\n%v", err)
	for _, want := range []string{"release hr-atomic revision 2 failed", "deployment/hr-atomic-app: pod hr-atomic-app-", `container "app" is in CrashLoopBackOff`, "last exit code 1", "atomic: rolled back, now revision 3 (Rollback to 1)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if resp.Outputs == cty.NilVal || num(resp.Outputs, "revision") != 3 || str(resp.Outputs, "status") != "deployed" {
		t.Errorf("outputs after the rollback = %#v", resp.Outputs)
	}
	if h := history(t, helmCLI(t, ns), "hr-atomic"); h != "1:superseded 2:failed 3:deployed" {
		t.Errorf("helm history = %s", h)
	}
	d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "hr-atomic-app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := d.Spec.Template.Labels["ansflow-test/fault"]; ok {
		t.Errorf("after the rollback the pods are still labelled fault=%s", f)
	}

	// A first install that fails with atomic is uninstalled again.
	bad := helmInputs(t, map[string]cty.Value{
		"namespace": cty.StringVal(ns), "name": cty.StringVal("hr-atomic-new"), "chart": cty.StringVal(chart),
		"atomic": cty.True, "values": ctyObj(map[string]cty.Value{"fault": cty.StringVal("imagepull")}),
	})
	_, err = step.Apply(ctx, providers.ApplyRequest{Inputs: bad, Logs: pl})
	if err == nil || !strings.Contains(err.Error(), "ImagePullBackOff") || !strings.Contains(err.Error(), "atomic: the release was uninstalled again") {
		t.Errorf("failing first install with atomic: %v", err)
	}
	if _, err := action.NewHistory(helmCLI(t, ns)).Run("hr-atomic-new"); !errors.Is(err, driver.ErrReleaseNotFound) {
		t.Errorf("history of the uninstalled release: %v", err)
	}
}

// TestHelmReleaseWithoutAtomicFailsFast checks that a plain upgrade (no
// atomic) also stops waiting at the first crash-looping pod and leaves the
// failed revision for the next apply to fix.
func TestHelmReleaseWithoutAtomicFailsFast(t *testing.T) {
	c := needCluster(t)
	ns := c.hrNamespace(t)
	step := &helmReleaseStep{p: c.p}
	chart := testChart{name: "hr-app", version: "0.1.0"}.write(t, t.TempDir())
	in := helmInputs(t, map[string]cty.Value{
		"namespace": cty.StringVal(ns), "name": cty.StringVal("hr-plain"), "chart": cty.StringVal(filepath.Clean(chart)),
		"values": ctyObj(map[string]cty.Value{"fault": cty.StringVal("crashloop")}),
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	l, pl := newLogs(t)
	resp, err := step.Apply(ctx, providers.ApplyRequest{Inputs: in, Logs: pl})
	if err == nil || !strings.Contains(err.Error(), "CrashLoopBackOff") || ctx.Err() != nil {
		t.Fatalf("install whose pods crash-loop: %v (ctx %v)\n%s", err, ctx.Err(), l)
	}
	if resp.Outputs == cty.NilVal || str(resp.Outputs, "status") != "failed" {
		t.Errorf("outputs = %#v, want status failed", resp.Outputs)
	}
	prior := providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}
	rr, err := step.Read(ctx, providers.ReadRequest{Desired: in, Prior: prior})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := hasDrift(rr.Drift, "status"); !ok || d.After != "failed" {
		t.Errorf("drift of a failed release: %+v", rr.Drift)
	}
}
