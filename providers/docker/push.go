package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ansflow/ansflow/config"

	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/providers"
)

// PushType is the docker_push step type: its schema and its implementation.
func (p *Provider) PushType() providers.Type {
	return providers.Type{Schema: PushSchema(), Step: &pushStep{p: p}}
}

// PushSchema describes the docker_push step type.
func PushSchema() *config.StepSchema {
	return &config.StepSchema{
		Type: "docker_push", Kind: config.Declarative,
		Description: "Pushes an image to a registry. Re-pushes only when the image changed or the registry lost the digest.",
		ResultIDs:   []config.ResultID{{Output: "digest"}},
		Verbs:       config.Verbs{Doing: "Pushing", Done: "Pushed"},
		Inputs: []config.AttrSchema{
			config.Attr("image", cty.String, "Local image to push (e.g. `docker_build.app.ref`).").AsRequired().WithExample(cty.StringVal("my-app:1.0")),
			config.Attr("registry", cty.DynamicPseudoType, "A `registry` block (e.g. `registry.main`) or a registry address string."),
			config.Attr("repository", cty.String, "Repository in the registry. Defaults to the image's repository name."),
			config.Attr("tags", cty.List(cty.String), "Tags to push. Defaults to the image's tag."),
		},
		Outputs: []config.AttrSchema{
			config.Attr("digest", cty.String, "Digest of the pushed manifest (`sha256:...`)."),
			config.Attr("ref", cty.String, "Pinned reference `address/repository@sha256:...`."),
		},
	}
}

// pushStep implements docker_push.
type pushStep struct{ p *Provider }

var _ providers.Step = (*pushStep)(nil)

// pushPrivate is kept in state: where the image went and the local tags
// made for the push. No credentials.
type pushPrivate struct {
	Address    string   `json:"address"`
	Repository string   `json:"repository"`
	Tags       []string `json:"tags"`
}

// pushPlan is where a docker_push sends its image.
type pushPlan struct {
	registry   registryTarget
	repository string
	targets    []string // address/repository:tag for every tag
}

func planPush(inputs cty.Value) (pushPlan, error) {
	image := attrString(inputs, "image")
	domain, repo, tag, _, err := splitRef(image)
	if err != nil {
		return pushPlan{}, err
	}
	pp := pushPlan{registry: registryFromInput(attr(inputs, "registry")), repository: attrString(inputs, "repository")}
	if pp.registry.Address == "" {
		pp.registry.Address = domain
	}
	if pp.repository == "" {
		pp.repository = familiarRepo(domain, repo)
	}
	tags := attrList(inputs, "tags")
	if len(tags) == 0 {
		if tag == "" {
			tag = "latest"
		}
		tags = []string{tag}
	}
	for _, t := range tags {
		pp.targets = append(pp.targets, pp.name()+":"+t)
	}
	return pp, nil
}

// name is address/repository (just repository on Docker Hub).
func (pp pushPlan) name() string {
	if pp.registry.Address == dockerHubDomain {
		return pp.repository
	}
	return pp.registry.Address + "/" + pp.repository
}

// Fingerprint is the ID of the local image, so a new image under the same
// tag counts as a change.
func (s *pushStep) Fingerprint(ctx context.Context, req providers.FingerprintRequest) (map[string]string, error) {
	return s.p.localImageID(ctx, req)
}

func (s *pushStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	pp, err := planPush(req.Inputs)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	api, err := s.p.engine(req.Env)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	auth, err := s.p.encodedAuth(withPipelineCredentials(pp.registry, req.Env.Registries))
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	image := attrString(req.Inputs, "image")
	var digest string
	for _, target := range pp.targets {
		if _, err := api.ImageTag(ctx, client.ImageTagOptions{Source: image, Target: target}); err != nil {
			return providers.ApplyResponse{}, fmt.Errorf("tagging %s as %s: %w", image, target, err)
		}
		req.Logs.Say("pushing %s", target)
		d, err := pushOne(ctx, api, target, auth, req.Logs)
		if err != nil {
			return providers.ApplyResponse{}, err
		}
		digest = d
	}
	priv, _ := json.Marshal(pushPrivate{Address: pp.registry.Address, Repository: pp.repository, Tags: pp.targets})
	return providers.ApplyResponse{
		Outputs: outputs(PushSchema(), map[string]cty.Value{
			"digest": cty.StringVal(digest),
			"ref":    cty.StringVal(pp.name() + "@" + digest),
		}),
		Private: priv,
	}, nil
}

// pushOne pushes target and returns the manifest digest from the stream.
func pushOne(ctx context.Context, api dockerAPI, target, auth string, logs providers.Logs) (string, error) {
	rc, err := api.ImagePush(ctx, target, client.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", target, err)
	}
	defer rc.Close()
	stdout := orDiscard(logs.Stdout)
	var digest string
	err = readStream(rc, func(m streamMessage) {
		writeStatus(stdout, m)
		if m.Aux != nil {
			var aux struct{ Tag, Digest string }
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
		// "latest: digest: sha256:... size: 528" from engines without aux.
		if i := strings.Index(m.Status, "digest: "); digest == "" && i >= 0 {
			digest, _, _ = strings.Cut(m.Status[i+len("digest: "):], " ")
		}
	})
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", target, err)
	}
	if digest == "" {
		return "", fmt.Errorf("pushing %s: the engine reported no digest", target)
	}
	return digest, nil
}

// writeStatus prints a progress message as a plain line ("abc123: Pushed"),
// skipping the per-chunk progress updates.
func writeStatus(w io.Writer, m streamMessage) {
	if m.Status == "" || m.Progress != nil && m.Progress.Total > 0 {
		return
	}
	if m.ID != "" {
		fmt.Fprintf(w, "%s: %s\n", m.ID, m.Status)
	} else {
		fmt.Fprintln(w, m.Status)
	}
}

// credentialedRegistry picks the registry input to take credentials from:
// the desired one when wholly known (prior inputs hold only a hash of a
// sensitive password), else the prior one.
func credentialedRegistry(desired, prior cty.Value) registryTarget {
	if d := attr(desired, "registry"); d.IsWhollyKnown() && !d.IsNull() {
		return registryFromInput(d)
	}
	return registryFromInput(attr(prior, "registry"))
}

// Read asks the registry whether it still has the pushed digest; when it
// does not, the push is gone and will be redone.
func (s *pushStep) Read(ctx context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	digest := attrString(req.Prior.Outputs, "digest")
	var priv pushPrivate
	if len(req.Prior.Private) > 0 {
		json.Unmarshal(req.Prior.Private, &priv)
	}
	if digest == "" || priv.Repository == "" {
		return providers.ReadResponse{Gone: true}, nil
	}
	reg := credentialedRegistry(req.Desired, req.Prior.Inputs)
	reg.Address = priv.Address
	reg = withPipelineCredentials(reg, req.Env.Registries)
	_, err := s.p.manifestDigest(ctx, reg, registryRepoPath(priv.Address, priv.Repository), digest)
	if errors.Is(err, errManifestNotFound) {
		return providers.ReadResponse{Gone: true}, nil
	}
	if err != nil {
		return providers.ReadResponse{}, err
	}
	return providers.ReadResponse{}, nil
}

// registryRepoPath is the repository path in the registry API (Docker Hub
// puts official images under library/).
func registryRepoPath(address, repo string) string {
	if address == dockerHubDomain && !strings.Contains(repo, "/") {
		return "library/" + repo
	}
	return repo
}

// Delete removes the local tags made for the push. The pushed manifest is
// left in the registry: other pipelines or deployments may use it.
func (s *pushStep) Delete(ctx context.Context, req providers.DeleteRequest) error {
	var priv pushPrivate
	if len(req.Prior.Private) > 0 {
		if err := json.Unmarshal(req.Prior.Private, &priv); err != nil {
			return fmt.Errorf("reading docker_push state: %w", err)
		}
	}
	image := attrString(req.Prior.Inputs, "image")
	api, err := s.p.engine(req.Env)
	if err != nil {
		return err
	}
	for _, t := range priv.Tags {
		if t == image {
			continue // the pushed image was already named so; not ours to remove
		}
		if err := removeImage(ctx, api, t, req.Logs); err != nil {
			return err
		}
	}
	return nil
}
