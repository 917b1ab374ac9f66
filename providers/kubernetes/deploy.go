package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ansflow/ansflow/config"

	"github.com/zclconf/go-cty/cty"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ansflow/ansflow/providers"
)

// Attribute types of k8s_deploy's compact form.
var (
	portType = cty.ObjectWithOptionalAttrs(map[string]cty.Type{
		"container_port": cty.Number,
		"name":           cty.String,
		"protocol":       cty.String,
	}, []string{"name", "protocol"})
	resourcesType = cty.ObjectWithOptionalAttrs(map[string]cty.Type{
		"requests": cty.Map(cty.String),
		"limits":   cty.Map(cty.String),
	}, []string{"requests", "limits"})
	serviceType = cty.ObjectWithOptionalAttrs(map[string]cty.Type{
		"type":        cty.String,
		"port":        cty.Number,
		"target_port": cty.Number,
	}, []string{"type", "target_port"})
)

// DeployType is the k8s_deploy step type: its schema and its implementation.
func (p *Provider) DeployType() providers.Type {
	return providers.Type{Schema: DeploySchema(), Step: &deployStep{p: p}}
}

// DeploySchema describes the k8s_deploy step type.
func DeploySchema() *config.StepSchema {
	return &config.StepSchema{
		Type: "k8s_deploy", Kind: config.Declarative,
		Description: "Creates or updates a Deployment (and optional Service) by server-side apply under field manager `ansflow`, or applies the objects of a `manifest`, `manifest_files` or a `kustomize` directory (exactly one), Namespaces and CRDs first. Objects it applied before that are no longer given are deleted (pruned); objects it did not create are never deleted. Waits until every object is ready unless `wait = false`.",
		ResultIDs:   []config.ResultID{{Output: "uid"}},
		Verbs:       config.Verbs{Doing: "Deploying", Done: "Deployed"},
		Inputs: []config.AttrSchema{
			clusterInput,
			namespaceInput.AsForceNew(),
			config.Attr("name", cty.String, "Name of the Deployment; also the container name and the `app` label. Required for the compact form.").AsForceNew().WithExample(cty.StringVal("my-app")),
			config.Attr("image", cty.String, "Container image.").WithExample(cty.StringVal("my-app:1.0")),
			config.Attr("replicas", cty.Number, "Desired replicas. Leave unset to let an HPA or a `k8s_scale` step own the field."),
			config.Attr("ports", cty.List(portType), "Container ports: `[{ container_port = 8080 }]`."),
			config.Attr("env", cty.Map(cty.String), "Container environment variables."),
			config.Attr("labels", cty.Map(cty.String), "Extra labels for the Deployment and its pods."),
			config.Attr("command", cty.List(cty.String), "Container entrypoint (argv)."),
			config.Attr("args", cty.List(cty.String), "Container arguments."),
			config.Attr("resources", resourcesType, "`{ requests = {cpu = \"100m\"}, limits = {memory = \"128Mi\"} }`."),
			config.Attr("service", serviceType, "Also apply a Service: `{ port = 80, target_port = 8080, type = \"ClusterIP\" }`."),
			config.Attr("manifest", cty.DynamicPseudoType, "Objects to apply instead of the compact form: one object, a list of objects, or YAML/JSON text with documents separated by `---`, e.g. `file(\"app.yaml\")` or `yamldecode_all(file(\"app.yaml\"))`."),
			config.Attr("manifest_files", cty.List(cty.String), "Files of objects to apply instead of the compact form: globs relative to the pipeline directory (`[\"k8s/*.yaml\"]`), read in order, each file's documents in file order. Their contents are part of the fingerprint."),
			config.Attr("kustomize", cty.String, "A kustomization directory, relative to the pipeline directory (`\"overlays/prod\"`), built in-process as `kustomize build` does; its output is applied. The files it reads are part of the fingerprint."),
			config.Attr("wait", cty.Bool, "Wait until every object is ready: Deployments rolled out, other kinds Current by the kstatus convention.").WithDefault(cty.True),
		},
		Outputs: []config.AttrSchema{
			config.Attr("name", cty.String, "Name of the Deployment; with manifest, manifest_files or kustomize, of the first Deployment applied, else of the first object."),
			config.Attr("namespace", cty.String, "Namespace it lives in."),
			config.Attr("uid", cty.String, "UID of the object."),
			config.Attr("generation", cty.Number, "metadata.generation after the apply."),
			config.Attr("selector", cty.String, "Pod label selector of the Deployment (`app=my-app`)."),
		},
	}
}

// deployStep is k8s_deploy.
type deployStep struct{ p *Provider }

// Validate checks what the types cannot: one source of objects, and the
// compact form's name and image, or an inline manifest that parses.
func (s *deployStep) Validate(inputs cty.Value) error {
	in := attrs{inputs}
	src, err := objectSource(in)
	if err != nil || src == srcManifestFiles || src == srcKustomize {
		return err // files are read by Fingerprint, which knows the pipeline directory
	}
	_, err = loadObjects(in, "", "default")
	return err
}

// Fingerprint hashes the files that manifest_files and kustomize read (and
// kustomize's output), so editing one plans an update.
func (s *deployStep) Fingerprint(_ context.Context, req providers.FingerprintRequest) (map[string]string, error) {
	in := attrs{req.Inputs}
	src, err := objectSource(in)
	if err != nil || (src != srcManifestFiles && src != srcKustomize) {
		return nil, err
	}
	l, err := loadObjects(in, req.Env.Dir, "")
	if err != nil {
		return nil, err
	}
	return l.files, nil
}

func (s *deployStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	in := attrs{req.Inputs}
	c, ns, err := s.p.clientAndNamespace(req.Inputs)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	l, err := loadObjects(in, req.Env.Dir, ns)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	var old deployPrivate
	if req.Prior != nil {
		if old, err = readPrivate(req.Prior.Private); err != nil {
			return providers.ApplyResponse{}, fmt.Errorf("reading what this step applied from state: %w", err)
		}
	}
	applied, set, err := c.applyObjects(ctx, l.objs, ns, old.byKey(), req.Logs)
	priv := deployPrivate{Objects: set}
	if err != nil {
		// Keep what is still ours from before in the set, so a later
		// apply or destroy can still remove it.
		priv.Objects = mergeSets(set, old.Objects)
		return s.partial(applied, priv), err
	}
	if err := c.prune(ctx, old, set, whyPruned(in), req.Logs); err != nil {
		priv.Objects = mergeSets(set, old.Objects)
		return s.partial(applied, priv), err
	}
	if in.boolean("wait") {
		if err := c.waitReady(ctx, applied, req.Logs); err != nil {
			return s.partial(applied, priv), err
		}
	}
	return s.partial(applied, priv), nil
}

// mergeSets is now followed by the members of old that now lacks.
func mergeSets(now, old []appliedObject) []appliedObject {
	have := map[objectKey]bool{}
	for _, r := range now {
		have[r.key()] = true
	}
	out := append([]appliedObject(nil), now...)
	for _, r := range old {
		if !have[r.key()] {
			out = append(out, r)
		}
	}
	return out
}

// whyPruned says why an object of the applied set goes away.
func whyPruned(in attrs) string {
	if src, _ := objectSource(in); src == "" {
		return "no longer in the step"
	}
	return "no longer in the manifest"
}

// partial returns the outputs of what has been applied so far.
func (s *deployStep) partial(applied []*unstructured.Unstructured, priv deployPrivate) providers.ApplyResponse {
	raw, _ := json.Marshal(priv)
	return providers.ApplyResponse{Outputs: deployOutputs(primary(applied)), Private: raw}
}

// primary is the object the outputs describe: the first Deployment, else the first object.
func primary(objs []*unstructured.Unstructured) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			return o
		}
	}
	if len(objs) > 0 {
		return objs[0]
	}
	return nil
}

var deployOutputType = cty.Object(map[string]cty.Type{
	"name": cty.String, "namespace": cty.String, "uid": cty.String,
	"generation": cty.Number, "selector": cty.String,
})

func deployOutputs(o *unstructured.Unstructured) cty.Value {
	if o == nil {
		return cty.NullVal(deployOutputType)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name":       cty.StringVal(o.GetName()),
		"namespace":  strOrNull(o.GetNamespace()),
		"uid":        cty.StringVal(string(o.GetUID())),
		"generation": cty.NumberIntVal(o.GetGeneration()),
		"selector":   strOrNull(podSelector(o)),
	})
}

// defaultNamespaces sets ns on namespaced objects that have none.
func (c *client) defaultNamespaces(objs []*unstructured.Unstructured, ns string) error {
	for _, o := range objs {
		t, err := c.mappingFor(o.GroupVersionKind())
		if err != nil {
			return err
		}
		if t.namespaced() && o.GetNamespace() == "" {
			o.SetNamespace(ns)
		}
		if !t.namespaced() {
			o.SetNamespace("")
		}
	}
	return nil
}

// Delete removes the applied set, last applied first, waiting until each
// object is gone; objects the step did not create are left in place.
func (s *deployStep) Delete(ctx context.Context, req providers.DeleteRequest) error {
	priv, err := readPrivate(req.Prior.Private)
	if err != nil {
		return fmt.Errorf("reading what this step applied from state: %w", err)
	}
	if len(priv.Objects) == 0 {
		return nil
	}
	c, _, err := s.p.clientAndNamespace(req.Prior.Inputs)
	if err != nil {
		return err
	}
	// Foreground: the Deployment is gone only after its ReplicaSets and pods are.
	for i := len(priv.Objects) - 1; i >= 0; i-- {
		if err := c.deleteOwned(ctx, priv.Objects[i], metav1.DeletePropagationForeground, "the step is destroyed", req.Logs); err != nil {
			return err
		}
	}
	return nil
}

// Read refreshes the applied objects: Gone when they were deleted, Drift for
// every field ansflow applied whose live value differs, and, when the
// configured inputs are wholly known, the Diff a server-side dry run of them
// predicts, with the objects an apply would prune.
func (s *deployStep) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	priv, _ := readPrivate(req.Prior.Private)
	if len(priv.Objects) == 0 {
		return providers.ReadResponse{Gone: true}, nil
	}
	c, ns, err := s.p.clientAndNamespace(req.Prior.Inputs)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	got := make([]*unstructured.Unstructured, len(priv.Objects))
	err = inParallel(ctx, len(got), func(ctx context.Context, i int) error {
		var err error
		got[i], err = c.getRef(ctx, priv.Objects[i].objectRef)
		return err
	})
	if err != nil {
		return providers.ReadResponse{}, err
	}
	live := map[objectKey]*unstructured.Unstructured{}
	var present []*unstructured.Unstructured
	var resp providers.ReadResponse
	for i, r := range priv.Objects {
		u := got[i]
		if u == nil {
			resp.Drift = append(resp.Drift, providers.Drift{Path: r.String(), Before: "exists", After: "deleted"})
			continue
		}
		live[r.key()] = u
		present = append(present, u)
	}
	if len(present) == 0 {
		return providers.ReadResponse{Gone: true}, nil
	}
	resp.Outputs = deployOutputs(primary(present))
	resp.Drift = append(resp.Drift, s.drift(c, req, ns, priv, live)...)
	if req.Desired != cty.NilVal && req.Desired.IsWhollyKnown() {
		resp.Diff = s.dryRunDiff(ctx, c, req.Env.Dir, req.Desired, priv, live)
	}
	return resp, nil
}

// drift compares what the step applied with the live objects, field by
// field. An object whose manifest file changed since is left to the Diff:
// what was applied is no longer known, only its hash.
func (s *deployStep) drift(c *client, req providers.ReadRequest, ns string, priv deployPrivate, live map[objectKey]*unstructured.Unstructured) []providers.Drift {
	in := attrs{req.Prior.Inputs}
	l, err := loadObjects(in, req.Env.Dir, ns)
	if err != nil {
		return nil
	}
	src, _ := objectSource(in)
	set := priv.byKey()
	var out []providers.Drift
	for _, want := range l.objs {
		if c.defaultNamespaces([]*unstructured.Unstructured{want}, ns) != nil {
			continue
		}
		r := refOf(want)
		got := live[r.key()]
		if got == nil || (set[r.key()].Hash != "" && set[r.key()].Hash != objectHash(want)) {
			continue
		}
		for _, d := range differences(want.Object, got.Object) {
			if d.Path == "spec.replicas" && ownsField(got, scaleFieldManager, "spec", "replicas") {
				continue // a k8s_scale step set it: not a change outside ansflow
			}
			if want.GetKind() == "Secret" && strings.HasPrefix(d.Path, "stringData.") {
				continue // write-only: the API server moves it into data
			}
			if src == "" {
				d.Path = friendlyPath(d.Path, want)
			} else {
				d.Path = r.String() + "." + d.Path
			}
			out = append(out, maskSecret(want, d))
		}
	}
	return out
}

// dryRunDiff asks the API server what applying the desired inputs would
// change, field by field, and lists the members of the applied set that
// the apply would prune. Failures leave the Diff empty: the plan then falls
// back to comparing inputs.
func (s *deployStep) dryRunDiff(ctx context.Context, c *client, dir string, desired cty.Value, priv deployPrivate, live map[objectKey]*unstructured.Unstructured) []providers.Drift {
	_, ns, err := s.p.clientAndNamespace(desired)
	if err != nil {
		return nil
	}
	in := attrs{desired}
	l, err := loadObjects(in, dir, ns)
	if err != nil {
		return nil
	}
	src, _ := objectSource(in)
	var out []providers.Drift
	wanted := map[objectKey]bool{}
	set := priv.byKey()
	var update []*unstructured.Unstructured
	for _, o := range l.objs {
		if c.defaultNamespaces([]*unstructured.Unstructured{o}, ns) != nil || live[refOf(o).key()] == nil {
			// New, possibly of a kind a CRD of this manifest brings.
			out = append(out, providers.Drift{Path: refOf(o).String(), Before: "(absent)", After: "created"})
			continue
		}
		wanted[refOf(o).key()] = true
		if set[refOf(o).key()].Hash == objectHash(o) {
			continue // as applied last time: what differs now is drift, which Read reports
		}
		update = append(update, o)
	}
	diffs := make([][]providers.Drift, len(update))
	err = inParallel(ctx, len(update), func(ctx context.Context, i int) error {
		var err error
		diffs[i], err = c.dryRunChanges(ctx, update[i], live[refOf(update[i]).key()], src == "")
		return err
	})
	if err != nil {
		return nil
	}
	for _, d := range diffs {
		out = append(out, d...)
	}
	why := whyPruned(in)
	for _, r := range priv.Objects {
		switch {
		case wanted[r.key()] || live[r.key()] == nil:
		case r.Adopted:
			out = append(out, providers.Drift{Path: r.String(), Before: "(exists)", After: "(" + why + "; left in place: ansflow did not create it)"})
		default:
			out = append(out, providers.Drift{Path: r.String(), Before: why, Removed: true})
		}
	}
	return out
}

// dryRunChanges is what applying o would change in got, field by field,
// by a server-side dry run. Paths are prefixed with the object (kind/name),
// except a compact form's Deployment's.
func (c *client) dryRunChanges(ctx context.Context, o, got *unstructured.Unstructured, compact bool) ([]providers.Drift, error) {
	quiet := providers.Logs{Stdout: discard{}, Stderr: discard{}}
	result, err := c.serverSideApply(ctx, o, quiet, true)
	if err != nil {
		return nil, err
	}
	after := leaves(result.Object)
	var out []providers.Drift
	for _, d := range differences(o.Object, got.Object) {
		if v, ok := after[d.Path]; ok {
			d.Before, d.After = d.After, v
			if !compact || o.GetKind() != "Deployment" {
				d.Path = refOf(o).String() + "." + d.Path
			}
			if d.Before != d.After {
				out = append(out, maskSecret(o, d))
			}
		}
	}
	return out, nil
}

// inParallel calls f for 0..n-1, a few at a time, and returns the first error.
func inParallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error { return f(ctx, i) })
	}
	return g.Wait()
}

// maskSecret hides the values of a Secret's data in a drift or diff line.
func maskSecret(o *unstructured.Unstructured, d providers.Drift) providers.Drift {
	if o.GetKind() == "Secret" && o.GroupVersionKind().Group == "" && !strings.Contains(d.Path, ".metadata.") && !strings.HasPrefix(d.Path, "metadata.") {
		if d.Before != "(absent)" {
			d.Before = "(sensitive value)"
		}
		if d.After != "(absent)" {
			d.After = "(sensitive value)"
		}
	}
	return d
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// getRef fetches an applied object; nil when it no longer exists.
func (c *client) getRef(ctx context.Context, r objectRef) (*unstructured.Unstructured, error) {
	gv, err := schema.ParseGroupVersion(r.APIVersion)
	if err != nil {
		return nil, err
	}
	t, err := c.mappingFor(gv.WithKind(r.Kind))
	if err != nil {
		return nil, err
	}
	u, err := c.resource(t, r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", r, c.apiError(err))
	}
	return u, nil
}

// friendlyPath names a compact-form Deployment field by its step attribute:
// spec.replicas -> replicas, ...containers[web].env.X -> env.X.
func friendlyPath(path string, obj *unstructured.Unstructured) string {
	if obj.GetKind() != "Deployment" {
		return refOf(obj).String() + "." + path
	}
	ctr := "spec.template.spec.containers[" + obj.GetName() + "]."
	switch {
	case path == "spec.replicas":
		return "replicas"
	case strings.HasPrefix(path, ctr):
		rest := strings.TrimPrefix(path, ctr)
		if strings.HasPrefix(rest, "ports[") {
			return "ports"
		}
		return rest
	case strings.HasPrefix(path, "spec.template.metadata.labels."):
		return "labels." + strings.TrimPrefix(path, "spec.template.metadata.labels.")
	case strings.HasPrefix(path, "metadata.labels."):
		return "labels." + strings.TrimPrefix(path, "metadata.labels.")
	}
	return path
}

// ownsField reports whether manager holds the field at path in obj's
// managedFields (e.g. a k8s_scale step, "ansflow-scale", owning spec.replicas).
func ownsField(obj *unstructured.Unstructured, manager string, path ...string) bool {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != manager || mf.FieldsV1 == nil {
			continue
		}
		var set map[string]any
		if json.Unmarshal(mf.FieldsV1.Raw, &set) != nil {
			continue
		}
		found := true
		for _, p := range path {
			next, ok := set["f:"+p].(map[string]any)
			if !ok {
				found = false
				break
			}
			set = next
		}
		if found {
			return true
		}
	}
	return false
}
