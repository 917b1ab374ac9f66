package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ansflow/ansflow/config"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/providers"
)

// PullType is the docker_pull step type: its schema and its implementation.
func (p *Provider) PullType() providers.Type {
	return providers.Type{Schema: PullSchema(), Step: &pullStep{p: p}}
}

// PullSchema describes the docker_pull step type.
func PullSchema() *config.StepSchema {
	return &config.StepSchema{
		Type: "docker_pull", Kind: config.Declarative,
		Description: "Pulls an image. With refresh, a tag that moved to a new digest shows in the plan.",
		ResultIDs:   []config.ResultID{{Output: "image_id"}, {Output: "digest"}},
		Verbs:       config.Verbs{Doing: "Pulling", Done: "Pulled"},
		Inputs: []config.AttrSchema{
			config.Attr("image", cty.String, "Image reference to pull (`repo:tag` or `repo@sha256:...`).").AsRequired().WithExample(cty.StringVal("my-app:1.0")),
			config.Attr("registry", cty.DynamicPseudoType, "A `registry` block for credentials, or an address string."),
			config.Attr("platform", cty.String, "Platform, e.g. `linux/amd64`."),
			config.Attr("policy", cty.String, "`if_not_present` or `always`.").WithDefault(cty.StringVal("if_not_present")),
		},
		Outputs: []config.AttrSchema{
			config.Attr("image_id", cty.String, "Local image ID."),
			config.Attr("digest", cty.String, "Repository digest (`sha256:...`)."),
			config.Attr("ref", cty.String, "Pinned reference `repository@sha256:...`."),
		},
	}
}

// pullStep implements docker_pull.
type pullStep struct{ p *Provider }

var _ providers.Step = (*pullStep)(nil)

// Pull policies.
const (
	policyIfNotPresent = "if_not_present"
	policyAlways       = "always"
)

func (s *pullStep) Fingerprint(context.Context, providers.FingerprintRequest) (map[string]string, error) {
	return nil, nil
}

// parsePlatform reads "os/arch[/variant]".
func parsePlatform(s string) (*ocispec.Platform, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("invalid platform %q: use os/arch[/variant], e.g. linux/amd64", s)
	}
	p := &ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

func (s *pullStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	image := attrString(req.Inputs, "image")
	domain, _, _, _, err := splitRef(image)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	policy := attrString(req.Inputs, "policy")
	if policy != policyIfNotPresent && policy != policyAlways {
		return providers.ApplyResponse{}, fmt.Errorf("invalid policy %q: use %q or %q", policy, policyIfNotPresent, policyAlways)
	}
	platform, err := parsePlatform(attrString(req.Inputs, "platform"))
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	api, err := s.p.engine(req.Env)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	if _, err := api.ImageInspect(ctx, image); err != nil || policy == policyAlways {
		if err != nil && !cerrdefs.IsNotFound(err) {
			return providers.ApplyResponse{}, fmt.Errorf("inspecting image %s: %w", image, err)
		}
		reg := registryFromInput(attr(req.Inputs, "registry"))
		if reg.Address == "" {
			reg.Address = domain
		}
		if err := s.pull(ctx, api, image, withPipelineCredentials(reg, req.Env.Registries), platform, req.Logs); err != nil {
			return providers.ApplyResponse{}, err
		}
	} else {
		req.Logs.Say("image %s present, not pulling", image)
	}
	img, err := api.ImageInspect(ctx, image)
	if err != nil {
		return providers.ApplyResponse{}, fmt.Errorf("inspecting pulled image %s: %w", image, err)
	}
	repoDigest, err := matchingRepoDigest(image, img.RepoDigests)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	_, digest, _ := strings.Cut(repoDigest, "@")
	return providers.ApplyResponse{Outputs: outputs(PullSchema(), map[string]cty.Value{
		"image_id": cty.StringVal(img.ID),
		"digest":   strVal(digest),
		"ref":      strVal(repoDigest),
	})}, nil
}

func (s *pullStep) pull(ctx context.Context, api dockerAPI, image string, reg registryTarget, platform *ocispec.Platform, logs providers.Logs) error {
	auth, err := s.p.encodedAuth(reg)
	if err != nil {
		return err
	}
	opts := client.ImagePullOptions{RegistryAuth: auth}
	if platform != nil {
		opts.Platforms = []ocispec.Platform{*platform}
	}
	logs.Say("pulling %s", image)
	rc, err := api.ImagePull(ctx, image, opts)
	if err != nil {
		return fmt.Errorf("pulling %s: %w", image, err)
	}
	defer rc.Close()
	stdout := orDiscard(logs.Stdout)
	if err := readStream(rc, func(m streamMessage) { writeStatus(stdout, m) }); err != nil {
		return fmt.Errorf("pulling %s: %w", image, err)
	}
	return nil
}

// matchingRepoDigest returns the "repo@sha256:..." entry of repoDigests for
// image's repository ("" when the image has none, e.g. built locally).
func matchingRepoDigest(image string, repoDigests []string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", image, err)
	}
	if d, ok := named.(reference.Digested); ok {
		return reference.FamiliarName(named) + "@" + d.Digest().String(), nil
	}
	for _, rd := range repoDigests {
		n, err := reference.ParseNormalizedNamed(rd)
		if err == nil && n.Name() == named.Name() {
			return rd, nil
		}
	}
	return "", nil
}

// Read reports the image gone when it is no longer present locally, and
// drift when the registry's tag now names another digest.
func (s *pullStep) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	image := attrString(req.Prior.Inputs, "image")
	if image == "" {
		return providers.ReadResponse{Gone: true}, nil
	}
	api, err := s.p.engine(req.Env)
	if err != nil {
		return providers.ReadResponse{}, err
	}
	if _, err := api.ImageInspect(ctx, image); cerrdefs.IsNotFound(err) {
		return providers.ReadResponse{Gone: true}, nil
	} else if err != nil {
		return providers.ReadResponse{}, fmt.Errorf("inspecting image %s: %w", image, err)
	}
	domain, repo, tag, dgst, err := splitRef(image)
	if err != nil || dgst != "" {
		return providers.ReadResponse{}, err // pinned by digest: cannot move
	}
	before := attrString(req.Prior.Outputs, "digest")
	reg := credentialedRegistry(req.Desired, req.Prior.Inputs)
	reg.Address = domain
	reg = withPipelineCredentials(reg, req.Env.Registries)
	if tag == "" {
		tag = "latest"
	}
	now, err := s.p.manifestDigest(ctx, reg, repo, tag)
	if errors.Is(err, errManifestNotFound) {
		// The tag is gone from the registry; the local image still serves.
		return providers.ReadResponse{}, nil
	}
	if err != nil {
		return providers.ReadResponse{}, fmt.Errorf("checking %s in its registry: %w", image, err)
	}
	if now != "" && before != "" && now != before {
		return providers.ReadResponse{Drift: []providers.Drift{{Path: "digest", Before: before, After: now}}}, nil
	}
	return providers.ReadResponse{}, nil
}

// Delete removes the pulled image reference; gone is success.
func (s *pullStep) Delete(ctx context.Context, req providers.DeleteRequest) error {
	image := attrString(req.Prior.Inputs, "image")
	if image == "" {
		return nil
	}
	api, err := s.p.engine(req.Env)
	if err != nil {
		return err
	}
	return removeImage(ctx, api, image, req.Logs)
}
