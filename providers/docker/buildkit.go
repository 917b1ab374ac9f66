package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	cerrdefs "github.com/containerd/errdefs"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/entitlements"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
	"github.com/tonistiigi/fsutil"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/sync/errgroup"

	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/providers/docker/buildcontext"
)

// minBuildKitAPI is the first Engine API version with BuildKit's /grpc and
// /session endpoints.
const minBuildKitAPI = "1.39"

// minNamedContextsAPI is the Engine API of Docker 23.0, the first whose
// built-in Dockerfile frontend reads named contexts (build_contexts);
// older ones silently ignore them.
const minNamedContextsAPI = "1.42"

// hasBuildKit reports whether the engine embeds a BuildKit daemon.
func hasBuildKit(ctx context.Context, api dockerAPI) (bool, error) {
	ping, err := api.Ping(ctx, client.PingOptions{})
	if err != nil {
		return false, fmt.Errorf("reaching the engine at %s: %w", api.DaemonHost(), err)
	}
	return ping.OSType != "windows" && !versions.LessThan(ping.APIVersion, minBuildKitAPI), nil
}

// buildkitClient dials the engine's BuildKit the way buildx's docker driver
// does: gRPC over the hijacked /grpc endpoint, sessions over /session.
func buildkitClient(ctx context.Context, api dockerAPI) (*bkclient.Client, error) {
	return bkclient.New(ctx, "",
		bkclient.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return api.DialHijack(ctx, "/grpc", "h2c", nil)
		}),
		bkclient.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return api.DialHijack(ctx, "/session", proto, meta)
		}),
	)
}

// countingFS counts the file bytes BuildKit reads from a local mount: what
// the incremental sync actually sends.
type countingFS struct {
	fsutil.FS
	sent *atomic.Int64
}

func (c countingFS) Open(p string) (io.ReadCloser, error) {
	rc, err := c.FS.Open(p)
	if err != nil {
		return nil, err
	}
	return countingReader{rc, c.sent}, nil
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r countingReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.n.Add(int64(n))
	return n, err
}

// localMount is dir as a BuildKit local source, without the excluded
// relative paths (ansflow's own .ansflow directory).
func localMount(dir string, exclude []string, sent *atomic.Int64) (fsutil.FS, error) {
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	if len(exclude) > 0 {
		if fs, err = fsutil.NewFilterFS(fs, &fsutil.FilterOpt{ExcludePatterns: exclude}); err != nil {
			return nil, err
		}
	}
	return countingFS{fs, sent}, nil
}

// buildkitJob is one docker_build on BuildKit.
type buildkitJob struct {
	api    dockerAPI
	bc     *buildcontext.Context
	env    providers.Env
	inputs cty.Value
	tags   []string
	sent   atomic.Int64
}

// dockerfile is the Dockerfile's slash-separated path in the context.
func (j *buildkitJob) dockerfile() string {
	df := path.Clean(filepath.ToSlash(attrString(j.inputs, "dockerfile")))
	if df == "." || df == "" {
		df = "Dockerfile"
	}
	return df
}

// solveOpt turns the step's inputs into a dockerfile.v0 solve.
func (j *buildkitJob) solveOpt(ctx context.Context, p *Provider) (bkclient.SolveOpt, error) {
	df := j.dockerfile()
	ctxFS, err := localMount(j.bc.Dir, j.bc.Excludes(), &j.sent)
	if err != nil {
		return bkclient.SolveOpt{}, err
	}
	dfFS, err := localMount(filepath.Join(j.bc.Dir, filepath.FromSlash(path.Dir(df))), nil, &j.sent)
	if err != nil {
		return bkclient.SolveOpt{}, err
	}
	key := sha256.Sum256([]byte(j.bc.Dir))
	so := bkclient.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: map[string]string{"filename": path.Base(df), "image-resolve-mode": "local"},
		LocalMounts:   map[string]fsutil.FS{"context": ctxFS, "dockerfile": dfFS},
		// The same key on every build lets the engine sync only what changed.
		SharedKey:    "ansflow-" + hex.EncodeToString(key[:8]),
		Exports:      []bkclient.ExportEntry{{Type: "moby", Attrs: map[string]string{"name": strings.Join(j.tags, ",")}}},
		CacheImports: cacheEntries(j.inputs, "cache_from"),
		CacheExports: cacheEntries(j.inputs, "cache_to"),
	}
	if t := attrString(j.inputs, "target"); t != "" {
		so.FrontendAttrs["target"] = t
	}
	for k, v := range attrMap(j.inputs, "build_args") {
		so.FrontendAttrs["build-arg:"+k] = v
	}
	for k, v := range attrMap(j.inputs, "labels") {
		so.FrontendAttrs["label:"+k] = v
	}
	if attrBool(j.inputs, "no_cache") {
		so.FrontendAttrs["no-cache"] = ""
	}
	if attrBool(j.inputs, "pull") {
		so.FrontendAttrs["image-resolve-mode"] = "pull"
	}
	if pl := attrList(j.inputs, "platforms"); len(pl) > 0 {
		so.FrontendAttrs["platform"] = strings.Join(pl, ",")
	}
	if err := j.network(ctx, &so); err != nil {
		return bkclient.SolveOpt{}, err
	}
	local, attrs, err := namedContexts(j.env.Dir, j.inputs)
	if err != nil {
		return bkclient.SolveOpt{}, err
	}
	if len(attrs) > 0 {
		if err := j.checkNamedContexts(ctx); err != nil {
			return bkclient.SolveOpt{}, err
		}
	}
	for name, dir := range local {
		fs, err := localMount(dir, nil, &j.sent)
		if err != nil {
			return bkclient.SolveOpt{}, err
		}
		so.LocalMounts[localContextName(name)] = fs
	}
	for k, v := range attrs {
		so.FrontendAttrs[k] = v
	}
	if so.Session, err = p.sessionAttachables(j.inputs, j.env.Registries); err != nil {
		return bkclient.SolveOpt{}, err
	}
	return so, nil
}

// checkNamedContexts refuses build_contexts on an engine whose Dockerfile
// frontend would ignore them (and then look for the names in a registry).
func (j *buildkitJob) checkNamedContexts(ctx context.Context) error {
	ping, err := j.api.Ping(ctx, client.PingOptions{})
	if err != nil {
		return fmt.Errorf("reaching the engine at %s: %w", j.api.DaemonHost(), err)
	}
	if versions.LessThan(ping.APIVersion, minNamedContextsAPI) {
		return fmt.Errorf("build_contexts needs Docker Engine 23.0 or newer (Engine API %s); the engine at %s speaks API %s, whose Dockerfile frontend ignores named contexts: "+
			"pass base images as build_args (ARG BASE + FROM ${BASE}) and copy extra files into the context instead", minNamedContextsAPI, j.api.DaemonHost(), ping.APIVersion)
	}
	return nil
}

// network sets the RUN network. "default" is the engine's bridge; an
// engine started without one (dockerd --bridge=none) gets "none", else
// every RUN fails with "network bridge not found".
func (j *buildkitJob) network(ctx context.Context, so *bkclient.SolveOpt) error {
	switch n := attrString(j.inputs, "network"); n {
	case "host":
		so.FrontendAttrs["force-network-mode"] = "host"
		so.AllowedEntitlements = append(so.AllowedEntitlements, entitlements.EntitlementNetworkHost.String())
	case "none":
		so.FrontendAttrs["force-network-mode"] = "none"
	default:
		_, err := j.api.NetworkInspect(ctx, "bridge", client.NetworkInspectOptions{})
		if cerrdefs.IsNotFound(err) {
			so.FrontendAttrs["force-network-mode"] = "none"
		} else if err != nil {
			return fmt.Errorf("inspecting the engine's bridge network: %w", err)
		}
	}
	return nil
}

// checkFeatures refuses what the engine's BuildKit cannot do, before any
// work: registry cache export and multi-platform builds need the
// containerd image store.
func checkFeatures(ctx context.Context, c *bkclient.Client, so bkclient.SolveOpt) error {
	needStore := strings.Contains(so.FrontendAttrs["platform"], ",")
	for _, e := range so.CacheExports {
		if e.Type != "inline" {
			needStore = true
		}
	}
	if !needStore {
		return nil
	}
	workers, err := c.ListWorkers(ctx)
	if err != nil {
		return fmt.Errorf("asking the engine's BuildKit for its workers: %w", err)
	}
	for _, w := range workers {
		if _, ok := w.Labels["org.mobyproject.buildkit.worker.snapshotter"]; ok {
			return nil
		}
	}
	return errors.New("the engine's builder cannot export a registry cache or build several platforms: it needs Docker's containerd image store. " +
		"Use cache_to = [\"type=inline\"] and push the image (docker_push), and build one platform per step")
}

// runBuildKit builds on the engine's BuildKit and returns the image ID.
func (p *Provider) runBuildKit(ctx context.Context, j *buildkitJob, logs providers.Logs) (string, error) {
	so, err := j.solveOpt(ctx, p)
	if err != nil {
		return "", err
	}
	c, err := buildkitClient(ctx, j.api)
	if err != nil {
		return "", fmt.Errorf("connecting to BuildKit in the engine at %s: %w (set builder = \"legacy\" to use the classic builder)", j.api.DaemonHost(), err)
	}
	defer c.Close()
	if err := checkFeatures(ctx, c, so); err != nil {
		return "", err
	}
	stdout := orDiscard(logs.Stdout)
	tracker := newVertexTracker(logs)
	ch := make(chan *bkclient.SolveStatus)
	// A failing display must not cancel the build: no shared context.
	var eg errgroup.Group
	eg.Go(func() error { return tracker.render(ctx, ch, stdout) })
	var solveErr error
	eg.Go(func() error {
		_, solveErr = c.Solve(ctx, nil, so, ch)
		return nil
	})
	renderErr := eg.Wait()
	fmt.Fprintf(stdout, "context: %s sent to the engine (BuildKit incremental sync)\n", humanBytes(j.sent.Load()))
	if solveErr != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		df := filepath.Join(j.bc.Dir, filepath.FromSlash(j.dockerfile()))
		return "", tracker.buildError(j.api.DaemonHost(), df, solveErr)
	}
	if renderErr != nil {
		p.log.Warn("rendering build progress", "err", renderErr)
	}
	img, err := j.api.ImageInspect(ctx, j.tags[0])
	if err != nil {
		return "", fmt.Errorf("inspecting the built image %s: %w", j.tags[0], err)
	}
	return img.ID, nil
}

// humanBytes formats n like "1.5 MB".
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}
