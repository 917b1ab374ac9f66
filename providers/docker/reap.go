package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/moby/moby/client"

	"github.com/ansflow/ansflow/providers"
)

// Labels on the containers of run-to-completion docker_run steps, so that
// the next apply finds the ones a killed apply left running.
const (
	// workspaceLabel identifies the pipeline directory and workspace.
	workspaceLabel = "ansflow.workspace"
	// runLabel is the run number of the apply that started the container.
	runLabel = "ansflow.run"
	// removeLabel is "true" when the step asked for remove = true.
	removeLabel = "ansflow.remove"
)

// workspaceID names a pipeline directory and workspace in a label.
func workspaceID(env providers.Env) string {
	sum := sha256.Sum256([]byte(env.Dir + "\x00" + env.Workspace))
	return hex.EncodeToString(sum[:12])
}

// runLabels are the labels of a run-to-completion container.
func runLabels(env providers.Env, remove bool) map[string]string {
	return map[string]string{
		workspaceLabel: workspaceID(env),
		runLabel:       strconv.Itoa(env.RunNumber),
		removeLabel:    strconv.FormatBool(remove),
	}
}

// reapKilled stops the run-to-completion containers that an earlier apply
// of the same workspace started and did not see to the end, because it was
// killed: the workspace is locked, so no other apply of it runs, and
// containers of finished runs have exited. Those that asked for remove =
// true are removed too. It runs once per run and Provider; failures are
// reported to the provider's logger and do not fail the step.
func (p *Provider) reapKilled(ctx context.Context, api dockerAPI, env providers.Env) {
	key := workspaceID(env) + "/" + strconv.Itoa(env.RunNumber)
	p.mu.Lock()
	if p.reaped == nil {
		p.reaped = map[string]bool{}
	}
	done := p.reaped[key]
	p.reaped[key] = true
	p.mu.Unlock()
	if done {
		return
	}
	lister, ok := api.(containerLister)
	if !ok {
		return
	}
	list, err := lister.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", workspaceLabel+"="+workspaceID(env)),
	})
	if err != nil {
		p.log.Warn("listing containers left by killed runs", "err", err)
		return
	}
	for _, c := range list.Items {
		if c.Labels[runLabel] == strconv.Itoa(env.RunNumber) {
			continue // this run's own
		}
		running := c.State == "running" || c.State == "restarting" || c.State == "paused" || c.State == "created"
		if !running && c.Labels[removeLabel] != "true" {
			continue // kept on purpose (remove = false) and done
		}
		if err := p.stopOrphan(api, c.ID, c.Labels); err != nil {
			p.log.Warn("stopping a container left by a killed run", "id", c.ID, "err", err)
		}
	}
}

// stopOrphan stops a container left by a killed run, and removes it when
// its step asked for remove = true.
func (p *Provider) stopOrphan(api dockerAPI, id string, labels map[string]string) error {
	if labels[removeLabel] == "true" {
		return cleanupContainer(api, id, true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	grace := stopGrace
	if _, err := api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &grace}); err != nil {
		return fmt.Errorf("stopping container %s: %w", id, err)
	}
	return nil
}

// containerLister is the one more engine call reaping needs.
type containerLister interface {
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
}

var _ containerLister = (*client.Client)(nil)
