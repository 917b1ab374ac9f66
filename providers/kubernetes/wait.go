package kubernetes

import (
	"context"
	"fmt"
	"strings"

	"github.com/ansflow/ansflow/config"

	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/providers"
)

// WaitType is the k8s_wait step type: its schema and its implementation.
func (p *Provider) WaitType() providers.Type {
	return providers.Type{Schema: WaitSchema(), Step: &waitStep{p: p}}
}

// WaitSchema describes the k8s_wait step type.
func WaitSchema() *config.StepSchema {
	return &config.StepSchema{
		Type: "k8s_wait", Kind: config.RunToCompletion,
		Description: "Waits, by watching, for a condition: `available`, `ready`, `complete`, `rollout`, `deleted`, or any status condition type. An object that does not exist yet is waited for. Use the `timeout` meta-argument to bound it.",
		Verbs:       config.Verbs{Doing: "Waiting", Done: "Condition met"},
		Inputs: []config.AttrSchema{
			clusterInput,
			namespaceInput,
			kindInput.AsRequired(),
			config.Attr("name", cty.String, "Name of the object. Either `name` or `selector` is required.").WithExample(cty.StringVal("my-app")),
			config.Attr("selector", cty.String, "Label selector; every selected object must meet the condition."),
			config.Attr("condition", cty.String, "`available`, `ready`, `complete`, `rollout`, `deleted`, or a status condition type such as `Progressing`. `ready` reads pods and nodes by their Ready condition, Deployments and ReplicaSets by ready replicas, and every other kind (StatefulSets, DaemonSets, Jobs, PVCs, custom resources) by the kstatus convention.").AsRequired().WithExample(cty.StringVal("available")),
		},
		Outputs: []config.AttrSchema{
			config.Attr("observed", cty.String, "What was observed when the condition was met."),
		},
	}
}

// waitStep is k8s_wait.
type waitStep struct{ p *Provider }

func (s *waitStep) Fingerprint(context.Context, providers.FingerprintRequest) (map[string]string, error) {
	return nil, nil
}

func (s *waitStep) Read(_ context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	return providers.ReadResponse{Outputs: req.Prior.Outputs}, nil
}

func (s *waitStep) Delete(context.Context, providers.DeleteRequest) error { return nil }

// Apply watches until the condition holds; the step's timeout is ctx's deadline.
func (s *waitStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	in := attrs{req.Inputs}
	c, ns, err := s.p.clientAndNamespace(req.Inputs)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	name, selector := in.str("name"), in.str("selector")
	if (name == "") == (selector == "") {
		return providers.ApplyResponse{}, fmt.Errorf("k8s_wait needs exactly one of name or selector")
	}
	t, err := c.resolveKind(ctx, in.str("kind"))
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	condName := strings.TrimSpace(in.str("condition"))
	if condName == "" {
		return providers.ApplyResponse{}, fmt.Errorf("condition is empty; use available, ready, complete, rollout, deleted or a status condition type")
	}
	opts := waitOptions{condName: lower(condName), logs: req.Logs}
	switch lower(condName) {
	case "deleted":
	case "rollout":
		opts.cond, opts.condName, opts.failFast = rolledOut, "rolled out", true
	case "available", "ready":
		opts.cond, opts.failFast = conditionFor(condName), true
	default:
		opts.cond, opts.condName = conditionFor(condName), condName
	}
	sel := selection{target: t, namespace: ns, name: name, selector: selector}
	req.Logs.Say("waiting for %s to be %s", sel, opts.condName)
	observed, err := c.waitFor(ctx, sel, opts)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	fmt.Fprintln(req.Logs.Stdout, observed)
	return providers.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"observed": cty.StringVal(observed)})}, nil
}
