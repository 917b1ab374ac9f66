package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/ansflow/ansflow/config"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/providers/docker/buildcontext"
)

// BuildType is the docker_build step type: its schema and its implementation.
func (p *Provider) BuildType() providers.Type {
	return providers.Type{Schema: BuildSchema(), Step: &buildStep{p: p}}
}

// BuildSchema describes the docker_build step type.
func BuildSchema() *config.StepSchema {
	return &config.StepSchema{
		Type: "docker_build", Kind: config.Declarative,
		Description: "Builds an image from a context directory, on the engine's BuildKit by default (see docs/docker-build.md). An unchanged context (paths, contents and executable bits, honouring `.dockerignore`, or `<Dockerfile>.dockerignore` with BuildKit) and unchanged inputs mean no build at all.",
		ResultIDs:   []config.ResultID{{Output: "image_id"}},
		Verbs:       config.Verbs{Doing: "Building", Done: "Built"},
		Inputs: []config.AttrSchema{
			config.Attr("image", cty.String, "Repository name of the image, e.g. `my-app`.").AsRequired().WithExample(cty.StringVal("my-app")),
			config.Attr("tag", cty.String, "Tag of the image.").WithDefault(cty.StringVal("latest")),
			config.Attr("tags", cty.List(cty.String), "Further tags (`name:tag` or bare tags) to apply to the built image."),
			config.Attr("context", cty.String, "Build context directory, relative to the pipeline directory.").WithDefault(cty.StringVal(".")),
			config.Attr("dockerfile", cty.String, "Dockerfile path, relative to the context.").WithDefault(cty.StringVal("Dockerfile")),
			config.Attr("build_args", cty.Map(cty.String), "Build-time variables (`ARG`)."),
			config.Attr("target", cty.String, "Target stage of a multi-stage build."),
			config.Attr("labels", cty.Map(cty.String), "Labels to set on the image."),
			config.Attr("no_cache", cty.Bool, "Do not use the build cache.").WithDefault(cty.False),
			config.Attr("builder", cty.String, "`buildkit` (the engine's BuildKit: `RUN --mount`, `COPY --chmod`, secrets, incremental context sync) or `legacy` (the classic builder, which re-sends the whole context). An engine without BuildKit (Engine API before 1.39) uses the legacy builder.").WithDefault(cty.StringVal("buildkit")),
			config.Attr("secrets", cty.Map(cty.String), "Build secrets by id, for `RUN --mount=type=secret,id=ID`; values come from sensitive variables or `file(...)`. They are never stored in the image, the state, plan files or logs.").AsSensitive(),
			config.Attr("ssh", cty.List(cty.String), "SSH agents to forward for `RUN --mount=type=ssh`: `default` (the agent at `SSH_AUTH_SOCK`) or `ID=PATH` (an agent socket or key file)."),
			config.Attr("cache_from", cty.List(cty.String), "External caches to use: image references (registry cache, including inline cache in pushed images) or buildx's `type=registry,ref=IMAGE` form."),
			config.Attr("cache_to", cty.List(cty.String), "Caches to export: `type=inline` (cache metadata in the image, pushed with it by docker_push); other types (`type=registry,ref=...`) need an engine with the containerd image store and fail with an explanation otherwise."),
			config.Attr("platforms", cty.List(cty.String), "Target platforms (`linux/amd64`); more than one needs an engine with the containerd image store."),
			config.Attr("build_contexts", cty.Map(cty.String), "Named contexts for `FROM`/`COPY --from=NAME`: a directory (relative to the pipeline directory), `docker-image://IMAGE`, `target:STAGE` or a URL."),
			config.Attr("network", cty.String, "Network for `RUN` instructions: `default` (the engine's bridge, or `none` when the engine has no bridge network), `none` or `host`."),
			config.Attr("pull", cty.Bool, "Always ask the registry for newer base images.").WithDefault(cty.False),
		},
		Outputs: []config.AttrSchema{
			config.Attr("image_id", cty.String, "Image ID (`sha256:...`)."),
			config.Attr("ref", cty.String, "Image reference `image:tag`."),
			config.Attr("context_hash", cty.String, "Content hash of the build context."),
		},
	}
}

// buildStep implements docker_build.
type buildStep struct{ p *Provider }

var _ providers.Step = (*buildStep)(nil)

// buildPrivate is kept in state: the tags the build created, for Delete.
type buildPrivate struct {
	Tags []string `json:"tags"`
}

// loadContext selects the build context of a docker_build step's inputs.
func loadContext(env providers.Env, inputs cty.Value) (*buildcontext.Context, error) {
	dir := attrString(inputs, "context")
	if dir == "" {
		dir = "."
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(env.Dir, dir)
	}
	dockerfile := attrString(inputs, "dockerfile")
	opts := buildcontext.Options{Dockerfile: dockerfile, DockerfileIgnore: builderOf(inputs) == builderBuildKit}
	if env.Dir != "" {
		work := filepath.Join(env.Dir, ".ansflow")
		if rel, err := filepath.Rel(dir, work); err == nil && !strings.HasPrefix(rel, "..") {
			// ansflow's own state, logs and caches are never part of a context.
			opts.Exclude = append(opts.Exclude, filepath.ToSlash(rel))
		}
		key := sha256.Sum256([]byte(dir + "\x00" + dockerfile))
		opts.CacheFile = filepath.Join(work, "cache", "buildcontext-"+hex.EncodeToString(key[:8])+".bin")
	}
	return buildcontext.Load(dir, opts)
}

// Validate checks the inputs only the provider understands.
func (s *buildStep) Validate(inputs cty.Value) error { return validateBuild(inputs) }

// Fingerprint returns {"context": hash of the build context}, plus
// "context:NAME" for each local named context (build_contexts).
func (s *buildStep) Fingerprint(ctx context.Context, req providers.FingerprintRequest) (map[string]string, error) {
	bc, err := loadContext(req.Env, req.Inputs)
	if err != nil {
		return nil, err
	}
	h, err := bc.Hash(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{"context": h}
	local, _, err := namedContexts(req.Env.Dir, req.Inputs)
	if err != nil {
		return nil, err
	}
	for name, dir := range local {
		nc, err := buildcontext.Load(dir, buildcontext.Options{Dockerfile: "."})
		if err != nil {
			return nil, fmt.Errorf("build_contexts[%q]: %w", name, err)
		}
		if out["context:"+name], err = nc.Hash(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// imageTags returns "image:tag" followed by the extra tags, where a bare tag
// applies to the image's repository.
func imageTags(inputs cty.Value) []string {
	image := attrString(inputs, "image")
	tag := attrString(inputs, "tag")
	if tag == "" {
		tag = "latest"
	}
	tags := []string{image + ":" + tag}
	for _, t := range attrList(inputs, "tags") {
		if !strings.ContainsAny(t, ":/") {
			t = image + ":" + t
		}
		tags = append(tags, t)
	}
	return tags
}

func (s *buildStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	api, err := s.p.engine(req.Env)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	bc, err := loadContext(req.Env, req.Inputs)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	hash, err := bc.Hash(ctx)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	tags := imageTags(req.Inputs)
	id, err := s.build(ctx, req, api, bc, tags)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	priv, _ := json.Marshal(buildPrivate{Tags: tags})
	return providers.ApplyResponse{
		Outputs: outputs(BuildSchema(), map[string]cty.Value{
			"image_id":     cty.StringVal(id),
			"ref":          cty.StringVal(tags[0]),
			"context_hash": cty.StringVal(hash),
		}),
		Private: priv,
	}, nil
}

// build runs the build on BuildKit or, when asked for or when the engine
// has no BuildKit, on the legacy builder.
func (s *buildStep) build(ctx context.Context, req providers.ApplyRequest, api dockerAPI, bc *buildcontext.Context, tags []string) (string, error) {
	if builderOf(req.Inputs) == builderBuildKit {
		ok, err := hasBuildKit(ctx, api)
		if err != nil {
			return "", err
		}
		if ok {
			return s.p.runBuildKit(ctx, &buildkitJob{api: api, bc: bc, env: req.Env, inputs: req.Inputs, tags: tags}, req.Logs)
		}
		fmt.Fprintf(orDiscard(req.Logs.Stdout), "the engine at %s has no BuildKit (Engine API < %s): using the legacy builder\n", api.DaemonHost(), minBuildKitAPI)
	}
	return runBuild(ctx, api, bc, buildOptions(req.Inputs, tags), req.Logs)
}

func buildOptions(inputs cty.Value, tags []string) client.ImageBuildOptions {
	opts := client.ImageBuildOptions{
		Tags:        tags,
		Dockerfile:  filepath.ToSlash(attrString(inputs, "dockerfile")),
		Target:      attrString(inputs, "target"),
		Labels:      attrMap(inputs, "labels"),
		NoCache:     attrBool(inputs, "no_cache"),
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	}
	opts.PullParent = attrBool(inputs, "pull")
	if n := attrString(inputs, "network"); n != "" && n != "default" {
		opts.NetworkMode = n
	}
	for _, e := range cacheEntries(inputs, "cache_from") {
		if e.Type == "registry" {
			opts.CacheFrom = append(opts.CacheFrom, e.Attrs["ref"])
		}
	}
	if args := attrMap(inputs, "build_args"); len(args) > 0 {
		opts.BuildArgs = make(map[string]*string, len(args))
		for k, v := range args {
			opts.BuildArgs[k] = &v
		}
	}
	return opts
}

// runBuild streams the context to the engine and its output to logs, and
// returns the built image's ID.
func runBuild(ctx context.Context, api dockerAPI, bc *buildcontext.Context, opts client.ImageBuildOptions, logs providers.Logs) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(bc.WriteTar(ctx, pw)) }()
	defer pr.Close()
	var sent atomic.Int64
	body := countingReader{pr, &sent}
	defer func() {
		fmt.Fprintf(orDiscard(logs.Stdout), "context: %s sent to the engine (legacy builder: the whole context)\n", humanBytes(sent.Load()))
	}()

	res, err := api.ImageBuild(ctx, body, opts)
	if err != nil {
		return "", fmt.Errorf("docker build on the engine at %s: %w", api.DaemonHost(), err)
	}
	defer res.Body.Close()
	stdout := orDiscard(logs.Stdout)
	var id string
	err = readStream(res.Body, func(m streamMessage) {
		if m.Stream != "" {
			io.WriteString(stdout, m.Stream)
			if line := strings.TrimSpace(m.Stream); strings.HasPrefix(line, "Step ") {
				logs.Say("%s", line)
			}
		}
		if m.Status != "" {
			fmt.Fprintln(stdout, m.Status)
		}
		if m.Aux != nil {
			var aux struct{ ID string }
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		}
	})
	if err != nil {
		// Name the engine: a daemon that stopped mid-build reports only
		// that the running instruction failed.
		return "", fmt.Errorf("docker build failed on the engine at %s: %s", api.DaemonHost(), strings.TrimSpace(err.Error()))
	}
	if id == "" { // engines that do not send the aux message
		img, err := api.ImageInspect(ctx, opts.Tags[0])
		if err != nil {
			return "", fmt.Errorf("inspecting the built image %s: %w", opts.Tags[0], err)
		}
		id = img.ID
	}
	return id, nil
}

// Read reports the image gone when its tag no longer exists, and drift when
// the tag now names another image.
func (s *buildStep) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	ref := attrString(req.Prior.Outputs, "ref")
	if ref == "" {
		return providers.ReadResponse{Gone: true}, nil
	}
	api, err := s.p.engine(req.Env)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	img, err := api.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return providers.ReadResponse{Gone: true}, nil
	}
	if err != nil {
		return providers.ReadResponse{}, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	var resp providers.ReadResponse
	if before := attrString(req.Prior.Outputs, "image_id"); before != img.ID {
		resp.Drift = append(resp.Drift, providers.Drift{Path: "image_id", Before: before, After: img.ID})
		resp.Outputs = outputs(BuildSchema(), map[string]cty.Value{
			"image_id":     cty.StringVal(img.ID),
			"ref":          cty.StringVal(ref),
			"context_hash": attr(req.Prior.Outputs, "context_hash"),
		})
	}
	return resp, nil
}

// Delete removes the tags the build created. An image still used by a
// container keeps its tag (nothing is force-removed); that is reported on
// stderr, not as a failure.
func (s *buildStep) Delete(ctx context.Context, req providers.DeleteRequest) error {
	var priv buildPrivate
	if len(req.Prior.Private) > 0 {
		if err := json.Unmarshal(req.Prior.Private, &priv); err != nil {
			return fmt.Errorf("reading docker_build state: %w", err)
		}
	}
	if len(priv.Tags) == 0 {
		if ref := attrString(req.Prior.Outputs, "ref"); ref != "" {
			priv.Tags = []string{ref}
		}
	}
	api, err := s.p.engine(req.Env)
	if err != nil {
		return err
	}
	for _, tag := range priv.Tags {
		if err := removeImage(ctx, api, tag, req.Logs); err != nil {
			return err
		}
	}
	return nil
}

// removeImage untags ref (removing the image when it was the last tag);
// not-found is success and an image in use is only a warning.
func removeImage(ctx context.Context, api dockerAPI, ref string, logs providers.Logs) error {
	_, err := api.ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true})
	switch {
	case err == nil, cerrdefs.IsNotFound(err):
		return nil
	case cerrdefs.IsConflict(err):
		fmt.Fprintf(orDiscard(logs.Stderr), "warning: image %s kept: %v\n", ref, err)
		return nil
	default:
		return fmt.Errorf("removing image %s: %w", ref, err)
	}
}
