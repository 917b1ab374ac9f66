package kubernetes

import (
	"context"
	"fmt"
	"strings"

	"github.com/ansflow/ansflow/config"

	"github.com/zclconf/go-cty/cty"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ansflow/ansflow/providers"
)

// DeleteType is the k8s_delete step type: its schema and its implementation.
func (p *Provider) DeleteType() providers.Type {
	return providers.Type{Schema: DeleteSchema(), Step: &deleteStep{p: p}}
}

// DeleteSchema describes the k8s_delete step type.
func DeleteSchema() *config.StepSchema {
	return &config.StepSchema{
		Type: "k8s_delete", Kind: config.RunToCompletion,
		Description: "Deletes named or selected objects and waits until they are gone. Nothing to delete is success.",
		Verbs:       config.Verbs{Doing: "Deleting", Done: "Deleted"},
		Inputs: []config.AttrSchema{
			clusterInput,
			namespaceInput,
			kindInput.AsRequired(),
			config.Attr("name", cty.String, "Name of the object. Either `name` or `selector` is required.").WithExample(cty.StringVal("my-app")),
			config.Attr("selector", cty.String, "Label selector choosing the objects."),
			config.Attr("propagation", cty.String, "`background`, `foreground` or `orphan`.").WithDefault(cty.StringVal("background")),
		},
		Outputs: []config.AttrSchema{
			config.Attr("deleted", cty.List(cty.String), "`kind/name` of each deleted object."),
		},
	}
}

// deleteStep is k8s_delete.
type deleteStep struct{ p *Provider }

func (s *deleteStep) Fingerprint(context.Context, providers.FingerprintRequest) (map[string]string, error) {
	return nil, nil
}

func (s *deleteStep) Read(_ context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	return providers.ReadResponse{Outputs: req.Prior.Outputs}, nil
}

func (s *deleteStep) Delete(context.Context, providers.DeleteRequest) error { return nil }

func propagation(p string) (metav1.DeletionPropagation, error) {
	switch strings.ToLower(p) {
	case "", "background":
		return metav1.DeletePropagationBackground, nil
	case "foreground":
		return metav1.DeletePropagationForeground, nil
	case "orphan":
		return metav1.DeletePropagationOrphan, nil
	}
	return "", fmt.Errorf("propagation must be background, foreground or orphan, not %q", p)
}

// Apply deletes the named or selected objects and waits until they are gone.
// Nothing matching is success with an empty `deleted`.
func (s *deleteStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	in := attrs{req.Inputs}
	c, ns, err := s.p.clientAndNamespace(req.Inputs)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	policy, err := propagation(in.str("propagation"))
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	name, selector := in.str("name"), in.str("selector")
	if (name == "") == (selector == "") {
		return providers.ApplyResponse{}, fmt.Errorf("k8s_delete needs exactly one of name or selector")
	}
	t, err := c.resolveKind(ctx, in.str("kind"))
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	ri := c.resource(t, ns)
	names := []string{name}
	if selector != "" {
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return providers.ApplyResponse{}, c.apiError(err)
		}
		names = names[:0]
		for _, it := range list.Items {
			names = append(names, it.GetName())
		}
	}
	var deleted []string
	for _, n := range names {
		err := ri.Delete(ctx, n, metav1.DeleteOptions{PropagationPolicy: &policy})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return deleteOutputs(deleted), fmt.Errorf("deleting %s/%s: %w", t.kindName(), n, c.apiError(err))
		}
		deleted = append(deleted, t.kindName()+"/"+n)
	}
	if len(deleted) == 0 {
		what := fmt.Sprintf("%s/%s", t.kindName(), name)
		if selector != "" {
			what = fmt.Sprintf("%s matching %q", t.kindName(), selector)
		}
		fmt.Fprintf(req.Logs.Stdout, "nothing to delete: no %s in namespace %s\n", what, ns)
		return deleteOutputs(nil), nil
	}
	for _, d := range deleted {
		n := strings.TrimPrefix(d, t.kindName()+"/")
		req.Logs.Say("waiting for %s to be gone", d)
		if _, err := c.waitFor(ctx, selection{target: t, namespace: ns, name: n}, waitOptions{logs: req.Logs}); err != nil {
			return deleteOutputs(deleted), err
		}
		fmt.Fprintf(req.Logs.Stdout, "%s deleted\n", d)
	}
	return deleteOutputs(deleted), nil
}

func deleteOutputs(deleted []string) providers.ApplyResponse {
	return providers.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"deleted": stringList(deleted)})}
}
