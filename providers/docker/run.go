package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ansflow/ansflow/config"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/providers"
)

// RunType is the docker_run step type: its schema and its implementation.
func (p *Provider) RunType() providers.Type {
	return providers.Type{Schema: RunSchema(), Step: &runStep{p: p}}
}

// RunSchema describes the docker_run step type.
func RunSchema() *config.StepSchema {
	return &config.StepSchema{
		Type: "docker_run", Kind: config.RunToCompletion,
		Description:     "Runs a container to completion; its exit code decides success. With `detach = true` it keeps a named container running as a declarative resource.",
		DeclarativeWhen: "detach",
		ResultIDs:       []config.ResultID{{Output: "exit_code", Prefix: "exit="}, {Output: "container_id"}},
		Inputs: []config.AttrSchema{
			config.Attr("image", cty.String, "Image to run (a reference such as `docker_build.app.ref`).").AsRequired().WithExample(cty.StringVal("my-app:1.0")),
			config.Attr("name", cty.String, "Container name. Defaults to one derived from the step address."),
			config.Attr("command", cty.List(cty.String), "Command (argv) passed to the image's entrypoint."),
			config.Attr("entrypoint", cty.List(cty.String), "Overrides the image's entrypoint."),
			config.Attr("env", cty.Map(cty.String), "Environment variables."),
			config.Attr("workdir", cty.String, "Working directory inside the container."),
			config.Attr("volumes", cty.List(cty.String), "Bind mounts in docker's `-v` form: `/host:/container[:ro]`."),
			config.Attr("network", cty.String, "Network mode (`none`, `host`, or a network name)."),
			config.Attr("user", cty.String, "User (`uid[:gid]` or name) to run as."),
			config.Attr("remove", cty.Bool, "Remove the container when it has finished.").WithDefault(cty.True),
			config.Attr("detach", cty.Bool, "Keep the container running as a declarative resource.").WithDefault(cty.False),
			config.Attr("expect_exit_code", cty.Number, "Exit code that counts as success.").WithDefault(cty.NumberIntVal(0)),
		},
		Outputs: []config.AttrSchema{
			config.Attr("exit_code", cty.Number, "Exit code of the container."),
			config.Attr("container_id", cty.String, "ID of the container."),
			config.Attr("stdout", cty.String, "Standard output (capped at 1 MiB)."),
			config.Attr("stderr", cty.String, "Standard error (capped at 1 MiB)."),
		},
	}
}

const (
	outputCap  = 1 << 20 // bytes of stdout/stderr kept in outputs
	stderrTail = 10      // lines of stderr quoted in an exit-code error
	// stopGrace is how long a cancelled container gets between SIGTERM and
	// SIGKILL.
	stopGrace = 2
	// cleanupTimeout bounds stopping and removing a container after the
	// step's own context was cancelled.
	cleanupTimeout = 30 * time.Second
	// addressLabel marks containers ansflow created, with the step address.
	addressLabel = "ansflow.address"
)

// runStep implements docker_run.
type runStep struct{ p *Provider }

var (
	_ providers.Step         = (*runStep)(nil)
	_ providers.Declarativer = (*runStep)(nil)
)

// runPrivate is kept in state for detached containers.
type runPrivate struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// IsDeclarative is true for detach = true: the container is a resource.
func (s *runStep) IsDeclarative(inputs cty.Value) bool {
	v := attr(inputs, "detach")
	return v.IsKnown() && !v.IsNull() && v.Type() == cty.Bool && v.True()
}

// Fingerprint is the ID of the local image, so a new image under the same
// tag counts as a change.
func (s *runStep) Fingerprint(ctx context.Context, req providers.FingerprintRequest) (map[string]string, error) {
	return s.p.localImageID(ctx, req)
}

var invalidNameChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// containerName is the name input, else "ansflow-" plus the sanitised step
// address; unique adds a random suffix so parallel runs do not clash.
func containerName(addr string, inputs cty.Value, unique bool) string {
	if n := attrString(inputs, "name"); n != "" {
		return n
	}
	name := "ansflow-" + strings.Trim(invalidNameChars.ReplaceAllString(strings.ReplaceAll(addr, ".", "-"), "_"), "_-")
	if unique {
		var b [4]byte
		rand.Read(b[:])
		name += "-" + hex.EncodeToString(b[:])
	}
	return name
}

// createOptions maps docker_run inputs to a container definition.
func createOptions(env providers.Env, addr, name string, inputs cty.Value) client.ContainerCreateOptions {
	cfg := &container.Config{
		Image:      attrString(inputs, "image"),
		Cmd:        attrList(inputs, "command"),
		Entrypoint: attrList(inputs, "entrypoint"),
		WorkingDir: attrString(inputs, "workdir"),
		User:       attrString(inputs, "user"),
		Labels:     map[string]string{addressLabel: addr},
	}
	envMap := attrMap(inputs, "env")
	for _, k := range sortedKeys(envMap) {
		cfg.Env = append(cfg.Env, k+"="+envMap[k])
	}
	host := &container.HostConfig{NetworkMode: container.NetworkMode(attrString(inputs, "network"))}
	for _, v := range attrList(inputs, "volumes") {
		host.Binds = append(host.Binds, absBind(env.Dir, v))
	}
	return client.ContainerCreateOptions{Config: cfg, HostConfig: host, Name: name}
}

// absBind makes a relative host path ("./data:/data") absolute against the
// pipeline directory; named volumes ("cache:/cache") are left alone.
func absBind(dir, bind string) string {
	src, rest, ok := strings.Cut(bind, ":")
	if !ok || dir == "" || !(strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") || src == ".") {
		return bind
	}
	return filepath.Join(dir, src) + ":" + rest
}

func (s *runStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	api, err := s.p.engine(req.Env)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	if s.IsDeclarative(req.Inputs) {
		return s.applyDetached(ctx, api, req)
	}
	return s.runToCompletion(ctx, api, req)
}

// runToCompletion creates, starts and waits for a container, collecting its
// output; the container is stopped and removed when ctx ends first.
func (s *runStep) runToCompletion(ctx context.Context, api dockerAPI, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	s.p.reapKilled(ctx, api, req.Env)
	opts := createOptions(req.Env, req.Addr, containerName(req.Addr, req.Inputs, true), req.Inputs)
	remove := attrBool(req.Inputs, "remove")
	maps.Copy(opts.Config.Labels, runLabels(req.Env, remove))
	created, err := api.ContainerCreate(ctx, opts)
	if err != nil {
		return providers.ApplyResponse{}, fmt.Errorf("creating container from %s: %w", opts.Config.Image, err)
	}
	id := created.ID
	defer func() {
		if remove || ctx.Err() != nil {
			cleanupContainer(api, id, ctx.Err() != nil)
		}
	}()

	wait := api.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return providers.ApplyResponse{}, fmt.Errorf("starting container %s: %w", opts.Name, err)
	}
	req.Logs.Say("container %s started", opts.Name)

	stdout := &cappedBuffer{max: outputCap}
	stderr := &cappedBuffer{max: outputCap}
	tail := &lineTail{n: stderrTail}
	logsDone := make(chan error, 1)
	go func() {
		logsDone <- copyLogs(ctx, api, id,
			io.MultiWriter(orDiscard(req.Logs.Stdout), stdout),
			io.MultiWriter(orDiscard(req.Logs.Stderr), stderr, tail))
	}()

	var code int64
	select {
	case res := <-wait.Result:
		if res.Error != nil && res.Error.Message != "" {
			return providers.ApplyResponse{}, fmt.Errorf("waiting for container %s: %s", opts.Name, res.Error.Message)
		}
		code = res.StatusCode
	case err := <-wait.Error:
		if ctx.Err() != nil {
			return providers.ApplyResponse{}, context.Cause(ctx)
		}
		return providers.ApplyResponse{}, fmt.Errorf("waiting for container %s: %w", opts.Name, err)
	case <-ctx.Done():
		return providers.ApplyResponse{}, context.Cause(ctx)
	}
	if err := <-logsDone; err != nil && ctx.Err() == nil {
		return providers.ApplyResponse{}, fmt.Errorf("reading logs of container %s: %w", opts.Name, err)
	}
	out := outputs(RunSchema(), map[string]cty.Value{
		"exit_code":    intVal(code),
		"container_id": cty.StringVal(id),
		"stdout":       cty.StringVal(stdout.String()),
		"stderr":       cty.StringVal(stderr.String()),
	})
	if want := int64(attrInt(req.Inputs, "expect_exit_code", 0)); code != want {
		msg := fmt.Sprintf("container exited with code %d (expected %d)", code, want)
		if t := tail.String(); t != "" {
			msg += "; last lines of stderr:\n" + t
		}
		return providers.ApplyResponse{Outputs: out}, errors.New(msg)
	}
	return providers.ApplyResponse{Outputs: out}, nil
}

// copyLogs follows the container's logs until it exits, demultiplexing
// stdout and stderr.
func copyLogs(ctx context.Context, api dockerAPI, id string, stdout, stderr io.Writer) error {
	rc, err := api.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = stdcopy.StdCopy(stdout, stderr, rc)
	return err
}

// cleanupContainer stops (when asked) and removes a container with its own
// deadline, so it works after the step's context was cancelled.
func cleanupContainer(api dockerAPI, id string, stop bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if stop {
		grace := stopGrace
		api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &grace})
	}
	_, err := api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing container %s: %w", id, err)
	}
	return nil
}

// applyDetached creates and starts a long-running named container. A
// replace removes the previous one first, and so does a create that finds a
// container ansflow made for the same address.
func (s *runStep) applyDetached(ctx context.Context, api dockerAPI, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	name := containerName(req.Addr, req.Inputs, false)
	if req.Prior != nil {
		var priv runPrivate
		json.Unmarshal(req.Prior.Private, &priv)
		if priv.ID != "" {
			if err := cleanupContainer(api, priv.ID, true); err != nil {
				return providers.ApplyResponse{}, err
			}
		}
	}
	if existing, err := api.ContainerInspect(ctx, name, client.ContainerInspectOptions{}); err == nil {
		if existing.Container.Config == nil || existing.Container.Config.Labels[addressLabel] != req.Addr {
			return providers.ApplyResponse{}, fmt.Errorf("a container named %q already exists and was not created by %s; remove it (docker rm -f %s) or set another name", name, req.Addr, name)
		}
		if err := cleanupContainer(api, existing.Container.ID, true); err != nil {
			return providers.ApplyResponse{}, err
		}
	}
	opts := createOptions(req.Env, req.Addr, name, req.Inputs)
	created, err := api.ContainerCreate(ctx, opts)
	if err != nil {
		return providers.ApplyResponse{}, fmt.Errorf("creating container %s from %s: %w", name, opts.Config.Image, err)
	}
	if _, err := api.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		cleanupContainer(api, created.ID, false)
		return providers.ApplyResponse{}, fmt.Errorf("starting container %s: %w", name, err)
	}
	req.Logs.Say("container %s running", name)
	priv, _ := json.Marshal(runPrivate{Name: name, ID: created.ID})
	return providers.ApplyResponse{
		Outputs: outputs(RunSchema(), map[string]cty.Value{"container_id": cty.StringVal(created.ID)}),
		Private: priv,
	}, nil
}

// Read checks a detached container: gone, or no longer running (drift).
func (s *runStep) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	if !s.IsDeclarative(req.Prior.Inputs) {
		return providers.ReadResponse{Outputs: req.Prior.Outputs}, nil
	}
	id := detachedID(req.Prior)
	if id == "" {
		return providers.ReadResponse{Gone: true}, nil
	}
	api, err := s.p.engine(req.Env)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	res, err := api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return providers.ReadResponse{Gone: true}, nil
	}
	if err != nil {
		return providers.ReadResponse{}, fmt.Errorf("inspecting container %s: %w", id, err)
	}
	var resp providers.ReadResponse
	if st := res.Container.State; st != nil && !st.Running {
		resp.Drift = append(resp.Drift, providers.Drift{Path: "state", Before: "running", After: string(st.Status)})
		resp.Outputs = outputs(RunSchema(), map[string]cty.Value{
			"container_id": cty.StringVal(res.Container.ID),
			"exit_code":    intVal(int64(st.ExitCode)),
		})
	}
	return resp, nil
}

func detachedID(prior providers.Prior) string {
	var priv runPrivate
	if len(prior.Private) > 0 && json.Unmarshal(prior.Private, &priv) == nil && priv.ID != "" {
		return priv.ID
	}
	return attrString(prior.Outputs, "container_id")
}

// Delete stops and removes a detached container; gone is success.
func (s *runStep) Delete(ctx context.Context, req providers.DeleteRequest) error {
	id := detachedID(req.Prior)
	if id == "" {
		return nil
	}
	api, err := s.p.engine(req.Env)
	if err != nil {
		return err
	}
	grace := 10
	if _, err := api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &grace}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stopping container %s: %w", id, err)
	}
	_, err = api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing container %s: %w", id, err)
	}
	return nil
}
