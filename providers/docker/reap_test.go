package docker

import (
	"context"
	"maps"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/providers"
)

// A container of a killed apply (running, labelled with an older run) is
// stopped by the next apply's first docker_run, and removed when its step
// asked for remove = true; containers of other workspaces, and the
// finished, kept containers of earlier runs, are left alone.
func TestNextApplyReapsContainersOfKilledRuns(t *testing.T) {
	raw := requireEngine(t)
	p := New()
	defer p.Close()
	built, e := buildApp(t, p, randName("ansflow-test-reap-"), "v1")
	image := attrString(built.Outputs, "ref")
	api, err := p.engine(e)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	other := e
	other.Workspace = "other"
	start := func(env providers.Env, run int, remove bool, cmd ...string) string {
		t.Helper()
		env.RunNumber = run
		in := runInputs(image, map[string]cty.Value{"command": strs(cmd...), "remove": cty.BoolVal(remove)})
		opts := createOptions(env, "docker_run.slow", containerName("docker_run.slow", in, true), in)
		maps.Copy(opts.Config.Labels, runLabels(env, remove))
		c, err := api.ContainerCreate(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cleanupContainer(api, c.ID, true) })
		if _, err := api.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	killedRemove := start(e, 1, true, "sleep", "300")
	killedKeep := start(e, 1, false, "sleep", "300")
	otherWorkspace := start(other, 1, true, "sleep", "300")

	e.RunNumber = 2
	if _, err := p.Steps()["docker_run"].Apply(ctx, providers.ApplyRequest{Addr: "docker_run.quick", Env: e, Action: providers.Run,
		Inputs: runInputs(image, map[string]cty.Value{"command": strs("run", "0"), "remove": cty.True})}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if _, err := raw.ContainerInspect(ctx, killedRemove, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("the killed run's container with remove = true is still there (err %v)", err)
	}
	if st := state(t, raw, killedKeep); st != "exited" {
		t.Errorf("the killed run's container with remove = false is %q, want exited (stopped, kept)", st)
	}
	if st := state(t, raw, otherWorkspace); st != "running" {
		t.Errorf("another workspace's container is %q, want running", st)
	}
}

func state(t *testing.T, raw *client.Client, id string) string {
	t.Helper()
	c, err := raw.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspecting %s: %v", id, err)
	}
	return string(c.Container.State.Status)
}
