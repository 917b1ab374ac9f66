package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ansflow/ansflow/providers"
)

// deployStep is k8s_deploy.
type deployStep struct{ p *Provider }

// deployPrivate is kept in state: exactly what the step applied, so that
// Delete removes those objects and an update prunes the ones it no longer has.
type deployPrivate struct {
	Objects []objectRef `json:"objects"`
}

func (s *deployStep) Fingerprint(context.Context, providers.FingerprintRequest) (map[string]string, error) {
	return nil, nil
}

func (s *deployStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	in := attrs{req.Inputs}
	c, ns, err := s.p.clientAndNamespace(req.Inputs)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	objs, err := desiredObjects(in, ns)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	if err := c.defaultNamespaces(objs, ns); err != nil {
		return providers.ApplyResponse{}, err
	}
	var applied []*unstructured.Unstructured
	priv := deployPrivate{}
	for _, o := range objs {
		live, err := c.serverSideApply(ctx, o, req.Logs, false)
		if err != nil {
			return s.partial(applied, priv), err
		}
		fmt.Fprintf(req.Logs.Stdout, "%s applied (generation %d)\n", refOf(live), live.GetGeneration())
		applied = append(applied, live)
		priv.Objects = append(priv.Objects, refOf(live))
	}
	if req.Prior != nil {
		if err := c.prune(ctx, req.Prior.Private, priv.Objects, req.Logs); err != nil {
			return s.partial(applied, priv), err
		}
	}
	if in.boolean("wait") {
		if err := c.waitReady(ctx, applied, req.Logs); err != nil {
			return s.partial(applied, priv), err
		}
	}
	return s.partial(applied, priv), nil
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

// prune deletes objects the previous apply created that this one no longer has.
func (c *client) prune(ctx context.Context, prior json.RawMessage, now []objectRef, logs providers.Logs) error {
	var old deployPrivate
	if len(prior) == 0 || json.Unmarshal(prior, &old) != nil {
		return nil
	}
	keep := map[objectRef]bool{}
	for _, r := range now {
		keep[r] = true
	}
	for _, r := range old.Objects {
		if keep[r] {
			continue
		}
		if err := c.deleteRef(ctx, r, metav1.DeletePropagationBackground); err != nil {
			return err
		}
		fmt.Fprintf(logs.Stdout, "%s deleted (no longer in the step)\n", r)
	}
	return nil
}

// deleteRef deletes one object and waits until it is gone; absent is success.
func (c *client) deleteRef(ctx context.Context, r objectRef, policy metav1.DeletionPropagation) error {
	gv, err := schema.ParseGroupVersion(r.APIVersion)
	if err != nil {
		return err
	}
	t, err := c.mappingFor(gv.WithKind(r.Kind))
	if err != nil {
		return err
	}
	err = c.resource(t, r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{PropagationPolicy: &policy})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting %s: %w", r, c.apiError(err))
	}
	_, err = c.waitFor(ctx, selection{target: t, namespace: r.Namespace, name: r.Name}, waitOptions{condName: "deleted"})
	return err
}

func (s *deployStep) Delete(ctx context.Context, req providers.DeleteRequest) error {
	var priv deployPrivate
	if len(req.Prior.Private) > 0 {
		if err := json.Unmarshal(req.Prior.Private, &priv); err != nil {
			return fmt.Errorf("reading what this step applied from state: %w", err)
		}
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
		r := priv.Objects[i]
		if err := c.deleteRef(ctx, r, metav1.DeletePropagationForeground); err != nil {
			return err
		}
		fmt.Fprintf(req.Logs.Stdout, "%s deleted\n", r)
	}
	return nil
}

// Read refreshes the applied objects: Gone when they were deleted, Drift for
// every field ansflow applied whose live value differs, and, when the
// configured inputs are wholly known, the Diff a server-side dry run of them
// predicts.
func (s *deployStep) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	var priv deployPrivate
	if len(req.Prior.Private) > 0 {
		_ = json.Unmarshal(req.Prior.Private, &priv)
	}
	if len(priv.Objects) == 0 {
		return providers.ReadResponse{Gone: true}, nil
	}
	c, ns, err := s.p.clientAndNamespace(req.Prior.Inputs)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	live := map[objectRef]*unstructured.Unstructured{}
	var present []*unstructured.Unstructured
	var resp providers.ReadResponse
	for _, r := range priv.Objects {
		u, err := c.getRef(ctx, r)
		if err != nil {
			return providers.ReadResponse{}, err
		}
		if u == nil {
			resp.Drift = append(resp.Drift, providers.Drift{Path: r.String(), Before: "exists", After: "deleted"})
			continue
		}
		live[r] = u
		present = append(present, u)
	}
	if len(present) == 0 {
		return providers.ReadResponse{Gone: true}, nil
	}
	resp.Outputs = deployOutputs(primary(present))

	compact := !attrs{req.Prior.Inputs}.isSet("manifest")
	if applied, err := desiredObjects(attrs{req.Prior.Inputs}, ns); err == nil {
		_ = c.defaultNamespaces(applied, ns)
		for _, want := range applied {
			got := live[refOf(want)]
			if got == nil {
				continue
			}
			for _, d := range differences(want.Object, got.Object) {
				if d.Path == "spec.replicas" && ownsField(got, scaleFieldManager, "spec", "replicas") {
					continue // a k8s_scale step set it: not a change outside ansflow
				}
				if compact {
					d.Path = friendlyPath(d.Path, want)
				} else {
					d.Path = refOf(want).String() + "." + d.Path
				}
				resp.Drift = append(resp.Drift, d)
			}
		}
	}
	if req.Desired != cty.NilVal && req.Desired.IsWhollyKnown() {
		resp.Diff = s.dryRunDiff(ctx, c, req.Desired, live)
	}
	return resp, nil
}

// dryRunDiff asks the API server what applying the desired inputs would
// change, field by field. Failures leave the Diff empty: the plan then falls
// back to comparing inputs.
func (s *deployStep) dryRunDiff(ctx context.Context, c *client, desired cty.Value, live map[objectRef]*unstructured.Unstructured) []providers.Drift {
	_, ns, err := s.p.clientAndNamespace(desired)
	if err != nil {
		return nil
	}
	want, err := desiredObjects(attrs{desired}, ns)
	if err != nil || c.defaultNamespaces(want, ns) != nil {
		return nil
	}
	quiet := providers.Logs{Stdout: discard{}, Stderr: discard{}}
	var out []providers.Drift
	for _, o := range want {
		got := live[refOf(o)]
		if got == nil {
			out = append(out, providers.Drift{Path: refOf(o).String(), Before: "(absent)", After: "created"})
			continue
		}
		result, err := c.serverSideApply(ctx, o, quiet, true)
		if err != nil {
			return nil
		}
		for _, d := range differences(o.Object, got.Object) {
			if v, ok := leaves(result.Object)[d.Path]; ok {
				d.Before, d.After = d.After, v
				if o.GetKind() != "Deployment" {
					d.Path = refOf(o).String() + "." + d.Path
				}
				if d.Before != d.After {
					out = append(out, d)
				}
			}
		}
	}
	return out
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
