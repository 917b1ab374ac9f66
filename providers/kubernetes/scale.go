package kubernetes

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ansflow/ansflow/config"

	"github.com/zclconf/go-cty/cty"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ansflow/ansflow/providers"
)

// ScaleType is the k8s_scale step type: its schema and its implementation.
func (p *Provider) ScaleType() providers.Type {
	return providers.Type{Schema: ScaleSchema(), Step: &scaleStep{p: p}}
}

// ScaleSchema describes the k8s_scale step type.
func ScaleSchema() *config.StepSchema {
	return &config.StepSchema{
		Type: "k8s_scale", Kind: config.Declarative,
		Description: "Sets replicas on a deployment or statefulset through the scale subresource and waits until the ready replicas match.",
		Verbs:       config.Verbs{Doing: "Scaling", Done: "Scaled"},
		Inputs: []config.AttrSchema{
			clusterInput,
			namespaceInput,
			config.Attr("kind", cty.String, "`deployment` or `statefulset` (kubectl names accepted).").WithDefault(cty.StringVal("deployment")),
			config.Attr("name", cty.String, "Name of the object to scale.").AsRequired().WithExample(cty.StringVal("my-app")),
			config.Attr("replicas", cty.Number, "Desired replicas.").AsRequired().WithExample(cty.NumberIntVal(3)),
			config.Attr("wait", cty.Bool, "Wait until ready replicas match.").WithDefault(cty.True),
		},
		Outputs: []config.AttrSchema{
			config.Attr("replicas", cty.Number, "Replicas after scaling."),
		},
	}
}

// scaleStep is k8s_scale: replicas set through the scale subresource under
// its own field manager, so that k8s_deploy (manager "ansflow") yields them.
type scaleStep struct{ p *Provider }

func (s *scaleStep) Fingerprint(context.Context, providers.FingerprintRequest) (map[string]string, error) {
	return nil, nil
}

// scalable resolves the step's kind and checks it has a scale subresource.
func (s *scaleStep) scalable(ctx context.Context, c *client, kind string) (target, error) {
	t, err := c.resolveKind(ctx, kind)
	if err != nil {
		return target{}, err
	}
	switch t.mapping.GroupVersionKind.Kind {
	case "Deployment", "StatefulSet", "ReplicaSet":
		return t, nil
	}
	return target{}, fmt.Errorf("k8s_scale works on deployments, statefulsets and replicasets, not %s", t.kindName())
}

func (s *scaleStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	in := attrs{req.Inputs}
	c, ns, err := s.p.clientAndNamespace(req.Inputs)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	t, err := s.scalable(ctx, c, in.str("kind"))
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	replicas, _ := in.int("replicas")
	if replicas < 0 {
		return providers.ApplyResponse{}, fmt.Errorf("replicas must not be negative")
	}
	name := in.str("name")
	scale := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling/v1",
		"kind":       "Scale",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       map[string]any{"replicas": replicas},
	}}
	// Scaling is this step's whole purpose: it takes the field from whoever
	// held it (force), and k8s_deploy yields it in turn.
	opts := metav1.ApplyOptions{FieldManager: scaleFieldManager, Force: true}
	if _, err := c.resource(t, ns).Apply(ctx, name, scale, opts, "scale"); err != nil {
		return providers.ApplyResponse{}, fmt.Errorf("scaling %s/%s: %w", t.kindName(), name, c.apiError(err))
	}
	fmt.Fprintf(req.Logs.Stdout, "%s/%s scaled to %d\n", t.kindName(), name, replicas)
	out := providers.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"replicas": cty.NumberIntVal(replicas)})}
	if !in.boolean("wait") {
		return out, nil
	}
	sel := selection{target: t, namespace: ns, name: name}
	observed, err := c.waitFor(ctx, sel, waitOptions{cond: readyReplicas(replicas), condName: "scaled", failFast: true, logs: req.Logs})
	if err != nil {
		return out, err
	}
	fmt.Fprintln(req.Logs.Stdout, observed)
	return out, nil
}

// readyReplicas is met when the controller saw the new size and exactly
// `want` replicas are ready.
func readyReplicas(want int64) condition {
	return func(u *unstructured.Unstructured) (verdict, error) {
		spec, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
		got, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
		total, _, _ := unstructured.NestedInt64(u.Object, "status", "replicas")
		observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		met := spec == want && got == want && total == want && observed >= u.GetGeneration()
		return verdict{met: met, detail: fmt.Sprintf("%d/%d replicas ready", got, want)}, nil
	}
}

// Read reports the live replica count; a different one than applied is drift.
func (s *scaleStep) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	in := attrs{req.Prior.Inputs}
	c, ns, err := s.p.clientAndNamespace(req.Prior.Inputs)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	t, err := s.scalable(ctx, c, in.str("kind"))
	if err != nil {
		return providers.ReadResponse{}, err
	}
	u, err := c.resource(t, ns).Get(ctx, in.str("name"), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return providers.ReadResponse{Gone: true}, nil
	}
	if err != nil {
		return providers.ReadResponse{}, c.apiError(err)
	}
	live, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if !found {
		live = 1
	}
	resp := providers.ReadResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"replicas": cty.NumberIntVal(live)})}
	if want, ok := in.int("replicas"); ok && want != live {
		resp.Drift = []providers.Drift{{Path: "replicas", Before: strconv.FormatInt(want, 10), After: strconv.FormatInt(live, 10)}}
	}
	return resp, nil
}

// Delete leaves the object at its size: there is nothing to undo.
func (s *scaleStep) Delete(context.Context, providers.DeleteRequest) error { return nil }
