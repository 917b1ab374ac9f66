package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ansflow/ansflow/config"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/kube"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ansflow/ansflow/providers"
)

// HelmReleaseType is the helm_release step type: its schema and its implementation.
func (p *Provider) HelmReleaseType() providers.Type {
	return providers.Type{Schema: HelmReleaseSchema(), Step: &helmReleaseStep{p: p}}
}

// HelmReleaseSchema describes the helm_release step type.
func HelmReleaseSchema() *config.StepSchema {
	return &config.StepSchema{
		Type: "helm_release", Kind: config.Declarative,
		Description: "Installs or upgrades a Helm release (`helm upgrade --install`) from a chart directory, a packaged `.tgz` or an `oci://` reference, through the Helm SDK. The release history stays Helm's (secrets storage), so `helm history` and `helm rollback` work on it. The plan shows the field-level change of the rendered objects (a dry-run upgrade) and drift from `helm upgrade` run by hand or objects edited by hand; destroy uninstalls. The `timeout` meta-argument also bounds Helm's wait (default 5m).",
		Inputs: []config.AttrSchema{
			clusterInput,
			config.Attr("namespace", cty.String, "Namespace of the release. Defaults to the cluster block's namespace, else the kubeconfig context's, else `default`.").AsForceNew(),
			config.Attr("name", cty.String, "Name of the release.").AsRequired().AsForceNew().WithExample(cty.StringVal("my-app")),
			config.Attr("chart", cty.String, "The chart: a directory or a packaged `.tgz` (relative to the pipeline directory), or an OCI reference `oci://host/path/chart` (tag from `version` or the reference).").AsRequired().WithExample(cty.StringVal("./charts/my-app")),
			config.Attr("version", cty.String, "Chart version. For an OCI chart the tag to pull (unless the reference has one); for a directory or `.tgz`, the version its Chart.yaml must have."),
			config.Attr("values", cty.DynamicPseudoType, "Values as an HCL object, merged over `values_files` (like `--set-json`)."),
			config.Attr("values_files", cty.List(cty.String), "Values files (YAML), relative to the pipeline directory, merged in order (like `-f`). Their contents are part of the fingerprint."),
			config.Attr("registry", cty.DynamicPseudoType, "A `registry` block with the credentials for an `oci://` chart. Loopback registries (127.0.0.1, localhost) are reached over plain HTTP."),
			config.Attr("create_namespace", cty.Bool, "Create the namespace on install when it does not exist.").WithDefault(cty.False),
			config.Attr("wait", cty.Bool, "Wait until every object of the release is ready (kstatus), failing fast when a pod crash-loops or cannot pull its image.").WithDefault(cty.True),
			config.Attr("atomic", cty.Bool, "On failure, roll the release back to its last good revision (uninstall it if this was the first install).").WithDefault(cty.False),
		},
		Outputs: []config.AttrSchema{
			config.Attr("name", cty.String, "Name of the release."),
			config.Attr("namespace", cty.String, "Namespace of the release."),
			config.Attr("revision", cty.Number, "Revision of the release after the apply (as `helm history` shows it)."),
			config.Attr("status", cty.String, "Status of the release: `deployed`, `failed`, ..."),
			config.Attr("chart_version", cty.String, "Version of the chart that was installed."),
			config.Attr("objects", cty.List(cty.String), "`kind/name` of each object of the rendered manifest, e.g. `[\"deployment/app\", \"service/app\"]`."),
		},
	}
}

// helmDefaultTimeout bounds Helm's waits when the step has no timeout
// meta-argument (Helm's own default).
const helmDefaultTimeout = 5 * time.Minute

// helmMaxHistory is how many revisions a release keeps (the Helm CLI's
// --history-max default).
const helmMaxHistory = 10

// helmReleaseStep is helm_release: `helm upgrade --install` through the SDK.
type helmReleaseStep struct {
	p       *Provider
	configs helmConfigs
}

// helmPrivate is kept in state: the revision ansflow last made, so that a
// revision made outside ansflow (helm upgrade, helm rollback) shows as drift.
type helmPrivate struct {
	Revision int `json:"revision"`
}

var helmOutputType = cty.Object(map[string]cty.Type{
	"name": cty.String, "namespace": cty.String, "revision": cty.Number,
	"status": cty.String, "chart_version": cty.String, "objects": cty.List(cty.String),
})

func (s *helmReleaseStep) Validate(inputs cty.Value) error {
	in := attrs{inputs}
	if err := chartutil.ValidateReleaseName(in.str("name")); err != nil {
		return fmt.Errorf("name %q is not a valid release name (lower case letters, digits and -, at most 53 characters)", in.str("name"))
	}
	if v := in.get("values"); !v.IsNull() && !v.Type().IsObjectType() && !v.Type().IsMapType() {
		return fmt.Errorf("values must be an object such as { replicas = 2 }, not %s", v.Type().FriendlyName())
	}
	src := chartSourceOf("", in)
	if src.isOCI() {
		_, err := src.ociRef()
		return err
	}
	return nil
}

// Fingerprint is the chart's content hash and each values file's.
func (s *helmReleaseStep) Fingerprint(_ context.Context, req providers.FingerprintRequest) (map[string]string, error) {
	in := attrs{req.Inputs}
	out, err := valuesFileHashes(req.Env.Dir, in)
	if err != nil {
		return nil, err
	}
	d, err := chartSourceOf(req.Env.Dir, in).digest()
	if err != nil {
		return nil, err
	}
	out[in.str("chart")] = d
	return out, nil
}

// helmConfigFor returns the Helm configuration of a step's cluster and namespace.
func (s *helmReleaseStep) helmConfigFor(inputs cty.Value) (*helmConfig, error) {
	c, ns, err := s.p.clientAndNamespace(inputs)
	if err != nil {
		return nil, err
	}
	return s.configs.get(s.p, c, ns)
}

func (s *helmReleaseStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	in := attrs{req.Inputs}
	hc, err := s.helmConfigFor(req.Inputs)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	ch, _, err := chartSourceOf(req.Env.Dir, in).load()
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	vals, err := helmValues(req.Env.Dir, in)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	name := in.str("name")
	rel, err := s.upgradeInstall(ctx, hc, in, ch, vals, req.Logs)
	if err != nil {
		// What is there now: a rollback's revision, else the failed one.
		if last, _ := lastRelease(hc, name); last != nil {
			rel = last
		}
	}
	if rel == nil {
		return providers.ApplyResponse{}, err
	}
	resp := releaseResponse(rel, hc.ns)
	if err == nil {
		fmt.Fprintf(req.Logs.Stdout, "release %s revision %d %s (chart %s-%s): %s\n", rel.Name, rel.Version, rel.Info.Status,
			rel.Chart.Metadata.Name, rel.Chart.Metadata.Version, strings.Join(manifestNames(rel, hc.ns), ", "))
	}
	return resp, err
}

// upgradeInstall is `helm upgrade --install`: an install when the release
// has no history, else an upgrade to exactly the configured values.
func (s *helmReleaseStep) upgradeInstall(ctx context.Context, hc *helmConfig, in attrs, ch *chart.Chart, vals map[string]any, logs providers.Logs) (*release.Release, error) {
	name := in.str("name")
	timeout := helmDefaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Second)
	}
	// Helm's waits end early when a pod of the release cannot start (the
	// watch cancels failCtx) or when ctx ends. A rollback after that waits
	// under a context of its own, bounded by Helm's timeout.
	failCtx, fail := context.WithCancelCause(context.WithoutCancel(ctx))
	defer fail(nil)
	defer context.AfterFunc(ctx, func() { fail(context.Cause(ctx)) })()
	waitCtx := deferredWaitOption(func() kube.WaitOption {
		if failCtx.Err() == nil {
			return kube.WithWaitContext(failCtx)
		}
		return kube.WithWaitContext(context.WithoutCancel(ctx))
	})
	strategy := kube.HookOnlyStrategy
	if in.boolean("wait") || in.boolean("atomic") {
		strategy = kube.StatusWatcherStrategy
		hc.watches.Store(name, &releaseWatch{c: hc.c, ctx: failCtx, cancel: fail, byNS: map[string]*podFailureWatcher{}})
		defer hc.watches.Delete(name)
	}

	_, err := hc.cfg.Releases.History(name)
	var r any
	switch {
	case errors.Is(err, driver.ErrReleaseNotFound):
		logs.Say("installing release %s", name)
		i := action.NewInstall(hc.cfg)
		i.ReleaseName, i.Namespace, i.CreateNamespace = name, hc.ns, in.boolean("create_namespace")
		i.Timeout, i.WaitStrategy, i.WaitOptions = timeout, strategy, []kube.WaitOption{waitCtx}
		i.RollbackOnFailure = in.boolean("atomic")
		i.ForceConflicts = true
		r, err = i.RunWithContext(context.WithoutCancel(ctx), ch, vals)
	case err != nil:
		return nil, fmt.Errorf("reading the history of release %s: %w", name, hc.c.apiError(err))
	default:
		logs.Say("upgrading release %s", name)
		u := action.NewUpgrade(hc.cfg)
		u.Install, u.Namespace, u.ResetValues, u.MaxHistory = true, hc.ns, true, helmMaxHistory
		u.Timeout, u.WaitStrategy, u.WaitOptions = timeout, strategy, []kube.WaitOption{waitCtx}
		u.RollbackOnFailure = in.boolean("atomic")
		u.ForceConflicts = true
		r, err = u.RunWithContext(context.WithoutCancel(ctx), name, ch, vals)
	}
	rel, _ := r.(*release.Release)
	if err != nil {
		return rel, s.releaseError(hc, name, rel, err, context.Cause(failCtx), in.boolean("atomic"))
	}
	return rel, nil
}

// releaseError says why an install or upgrade failed: the pod that cannot
// start when that ended the wait, and what atomic did about it.
func (s *helmReleaseStep) releaseError(hc *helmConfig, name string, rel *release.Release, err, cause error, atomic bool) error {
	what := fmt.Sprintf("release %s", name)
	if rel != nil && rel.Version > 0 {
		what = fmt.Sprintf("release %s revision %d", name, rel.Version)
	}
	var pf *PodFailure
	if !errors.As(cause, &pf) && strings.Contains(err.Error(), "another operation (install/upgrade/rollback) is in progress") {
		return fmt.Errorf("%s: %w (if no helm command is running, an earlier one was interrupted: `helm history %s -n %s` shows it, `helm rollback %s -n %s` ends it)", what, err, name, hc.ns, name, hc.ns)
	}
	uninstalled := strings.Contains(err.Error(), "has been uninstalled due to rollback-on-failure")
	if pf != nil {
		err = pf
	}
	msg := fmt.Sprintf("%s failed: %v", what, err)
	if atomic && rel != nil { // nil: it failed before Helm made a revision
		switch last, _ := lastRelease(hc, name); {
		case last == nil:
			if uninstalled {
				msg += "\natomic: the release was uninstalled again"
			}
		case last.Version > rel.Version:
			msg += fmt.Sprintf("\natomic: rolled back, now revision %d (%s)", last.Version, last.Info.Description)
		}
	}
	return errors.New(msg)
}

// lastRelease is the newest revision of a release; nil when it has none.
func lastRelease(hc *helmConfig, name string) (*release.Release, error) {
	r, err := hc.cfg.Releases.Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading release %s: %w", name, hc.c.apiError(err))
	}
	rel, ok := r.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("release %s is stored in a form this Helm SDK does not read (%T)", name, r)
	}
	return rel, nil
}

func releaseResponse(rel *release.Release, ns string) providers.ApplyResponse {
	raw, _ := json.Marshal(helmPrivate{Revision: rel.Version})
	return providers.ApplyResponse{Outputs: releaseOutputs(rel, ns), Private: raw}
}

func releaseOutputs(rel *release.Release, ns string) cty.Value {
	version := ""
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		version = rel.Chart.Metadata.Version
	}
	status := ""
	if rel.Info != nil {
		status = rel.Info.Status.String()
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name":          cty.StringVal(rel.Name),
		"namespace":     cty.StringVal(rel.Namespace),
		"revision":      cty.NumberIntVal(int64(rel.Version)),
		"status":        strOrNull(status),
		"chart_version": strOrNull(version),
		"objects":       stringList(manifestNames(rel, ns)),
	})
}

func manifestNames(rel *release.Release, ns string) []string {
	objs, err := releaseObjects(rel.Manifest, ns)
	if err != nil {
		return nil
	}
	return objectNames(objs)
}

func (s *helmReleaseStep) Delete(ctx context.Context, req providers.DeleteRequest) error {
	hc, err := s.helmConfigFor(req.Prior.Inputs)
	if err != nil {
		return err
	}
	name := attrs{req.Prior.Inputs}.str("name")
	if rel, err := lastRelease(hc, name); err != nil || rel == nil {
		return err
	}
	timeout := helmDefaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Second)
	}
	u := action.NewUninstall(hc.cfg)
	u.IgnoreNotFound = true
	u.Timeout = timeout
	u.WaitStrategy = kube.StatusWatcherStrategy
	u.WaitOptions = []kube.WaitOption{kube.WithWaitContext(ctx)}
	req.Logs.Say("uninstalling release %s", name)
	res, err := u.Run(name)
	if err != nil {
		return fmt.Errorf("uninstalling release %s: %w", name, err)
	}
	if res != nil && res.Info != "" {
		fmt.Fprintln(req.Logs.Stdout, res.Info)
	}
	fmt.Fprintf(req.Logs.Stdout, "release %s uninstalled\n", name)
	return nil
}

// Read refreshes the release: Gone when it was uninstalled; Drift when a
// revision was made outside ansflow (helm upgrade, helm rollback), when it
// is not deployed, or when an object of it was edited or deleted by hand;
// and, when the configured inputs are known, the Diff a dry-run upgrade to
// them makes to the rendered objects.
func (s *helmReleaseStep) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	var priv helmPrivate
	if len(req.Prior.Private) > 0 {
		_ = json.Unmarshal(req.Prior.Private, &priv)
	}
	hc, err := s.helmConfigFor(req.Prior.Inputs)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	name := attrs{req.Prior.Inputs}.str("name")
	cur, err := lastRelease(hc, name)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	if cur == nil || cur.Info == nil || cur.Info.Status == rcommon.StatusUninstalled {
		return providers.ReadResponse{Gone: true}, nil
	}
	resp := providers.ReadResponse{Outputs: releaseOutputs(cur, hc.ns)}
	objs, err := releaseObjects(cur.Manifest, hc.ns)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	if priv.Revision != 0 && cur.Version != priv.Revision {
		resp.Drift = append(resp.Drift, s.revisionDrift(hc, name, priv.Revision, cur, objs)...)
	}
	if cur.Info.Status != rcommon.StatusDeployed {
		resp.Drift = append(resp.Drift, providers.Drift{Path: "status", Before: rcommon.StatusDeployed.String(), After: cur.Info.Status.String()})
	}
	live, err := hc.c.liveObjects(ctx, objs)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	resp.Drift = append(resp.Drift, liveDrift(objs, live)...)
	if req.Desired != cty.NilVal && req.Desired.IsWhollyKnown() {
		resp.Diff = s.dryRunDiff(ctx, hc, req, objs)
	}
	return resp, nil
}

// revisionDrift reports a revision made outside ansflow, and what it
// changed in the rendered objects since the revision ansflow made.
func (s *helmReleaseStep) revisionDrift(hc *helmConfig, name string, ours int, cur *release.Release, now []*unstructured.Unstructured) []providers.Drift {
	out := []providers.Drift{{Path: "revision", Before: strconv.Itoa(ours), After: fmt.Sprintf("%d (%s)", cur.Version, cur.Info.Description)}}
	r, err := hc.cfg.Releases.Get(name, ours)
	if err != nil {
		return out // pruned from the history (more than helmMaxHistory revisions)
	}
	old, ok := r.(*release.Release)
	if !ok {
		return out
	}
	before, err := releaseObjects(old.Manifest, hc.ns)
	if err != nil {
		return out
	}
	return append(out, manifestChanges(before, now)...)
}

// dryRunDiff renders the configured chart and values with a dry-run upgrade
// and compares its objects with the release's. Failures leave the Diff
// empty: the plan then falls back to comparing inputs, and apply reports them.
func (s *helmReleaseStep) dryRunDiff(ctx context.Context, hc *helmConfig, req providers.ReadRequest, current []*unstructured.Unstructured) []providers.Drift {
	in := attrs{req.Desired}
	if _, ns, err := s.p.clientAndNamespace(req.Desired); err != nil || ns != hc.ns || in.str("name") != (attrs{req.Prior.Inputs}).str("name") {
		return nil // a replacement: the engine says so
	}
	ch, _, err := chartSourceOf(req.Env.Dir, in).load()
	if err != nil {
		return nil
	}
	vals, err := helmValues(req.Env.Dir, in)
	if err != nil {
		return nil
	}
	u := action.NewUpgrade(hc.cfg)
	u.Namespace, u.ResetValues, u.DryRunStrategy = hc.ns, true, action.DryRunServer
	// Strict field validation fetches and parses the cluster's OpenAPI
	// document on every build, most of a no-op plan's time; the apply
	// validates (server-side), the plan only compares.
	u.DisableOpenAPIValidation = true
	r, err := u.RunWithContext(ctx, in.str("name"), ch, vals)
	if err != nil {
		return nil
	}
	rel, ok := r.(*release.Release)
	if !ok {
		return nil
	}
	want, err := releaseObjects(rel.Manifest, hc.ns)
	if err != nil {
		return nil
	}
	return manifestChanges(current, want)
}
