package kubernetes

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/zclconf/go-cty/cty"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/ansflow/ansflow/providers"
)

// kstatusReady is readiness by the kstatus convention, for kinds ansflow
// has no rule of its own for (custom resources, StatefulSets, DaemonSets,
// Jobs, PVCs, ...): Current is ready, Failed ends the wait, anything else
// is still in progress.
func kstatusReady(u *unstructured.Unstructured) (verdict, error) {
	res, err := status.Compute(u)
	if err != nil {
		return verdict{}, fmt.Errorf("working out the status of %s/%s: %w", lower(u.GetKind()), u.GetName(), err)
	}
	detail := res.Message
	if detail == "" {
		detail = lower(string(res.Status))
	}
	switch res.Status {
	case status.CurrentStatus:
		return verdict{met: true, detail: detail}, nil
	case status.FailedStatus:
		return verdict{}, fmt.Errorf("%s/%s failed: %s", lower(u.GetKind()), u.GetName(), detail)
	}
	return verdict{detail: detail}, nil
}

// readiness is the check a rollout wait uses for an applied object:
// `kubectl rollout status` for Deployments, kstatus for everything else.
func readiness(u *unstructured.Unstructured) condition {
	if u.GetKind() == "Deployment" {
		return rolledOut
	}
	return kstatusReady
}

// WaitReady waits, by watch, until every object in objs is ready: a
// Deployment rolled out (as `kubectl rollout status`), anything else Current
// by the kstatus convention. Pods of workloads that cannot start (crash
// loop, image pull failure) end the wait at once with a *PodFailure naming
// the reason. inputs are the step's inputs, for its cluster; objs are as
// the API server returned them (their namespace set). Objects already ready
// are not watched. Each result is written to logs.Stdout; ctx bounds it.
func (p *Provider) WaitReady(ctx context.Context, inputs cty.Value, objs []*unstructured.Unstructured, logs providers.Logs) error {
	c, _, err := p.clientAndNamespace(inputs)
	if err != nil {
		return err
	}
	return c.waitReady(ctx, objs, logs)
}

// waitReady is WaitReady on a client.
func (c *client) waitReady(ctx context.Context, objs []*unstructured.Unstructured, logs providers.Logs) error {
	logs = syncedLogs(logs)
	g, ctx := errgroup.WithContext(ctx)
	for _, o := range objs {
		if o == nil {
			continue
		}
		cond := readiness(o)
		if err := beingDeleted(o, "ready"); err != nil {
			return err
		}
		if v, err := cond(o); err == nil && v.met {
			continue // the apply's response already shows it ready
		}
		t, err := c.mappingFor(o.GroupVersionKind())
		if err != nil {
			return err
		}
		sel := selection{target: t, namespace: o.GetNamespace(), name: o.GetName()}
		condName := "ready"
		if o.GetKind() == "Deployment" {
			condName = "rolled out"
		}
		g.Go(func() error {
			observed, err := c.waitFor(ctx, sel, waitOptions{cond: cond, condName: condName, failFast: true, logs: logs, applied: true})
			if err != nil {
				return err
			}
			fmt.Fprintln(logs.Stdout, observed)
			return nil
		})
	}
	return g.Wait()
}

// syncedLogs serialises writes to l, for waits that run side by side.
func syncedLogs(l providers.Logs) providers.Logs {
	mu := &sync.Mutex{}
	out := providers.Logs{Stdout: &syncWriter{mu: mu, w: l.Stdout}, Stderr: &syncWriter{mu: mu, w: l.Stderr}}
	if l.Progress != nil {
		out.Progress = func(msg string) {
			mu.Lock()
			defer mu.Unlock()
			l.Progress(msg)
		}
	}
	return out
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
