package docker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/ansflow/ansflow/providers"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"
)

// dockerAPI is the part of the Engine API client the steps use.
type dockerAPI interface {
	ImageBuild(ctx context.Context, buildContext io.Reader, options client.ImageBuildOptions) (client.ImageBuildResult, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageRemove(ctx context.Context, image string, options client.ImageRemoveOptions) (client.ImageRemoveResult, error)
	ImageTag(ctx context.Context, options client.ImageTagOptions) (client.ImageTagResult, error)
	ImagePush(ctx context.Context, image string, options client.ImagePushOptions) (client.ImagePushResponse, error)
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)

	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, id string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerWait(ctx context.Context, id string, options client.ContainerWaitOptions) client.ContainerWaitResult
	ContainerLogs(ctx context.Context, id string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerStop(ctx context.Context, id string, options client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerRemove(ctx context.Context, id string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)

	Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error)
	NetworkInspect(ctx context.Context, network string, options client.NetworkInspectOptions) (client.NetworkInspectResult, error)
	// DialHijack reaches the engine's BuildKit (/grpc, /session).
	DialHijack(ctx context.Context, url, proto string, meta map[string][]string) (net.Conn, error)

	// DaemonHost is the engine's address, for messages.
	DaemonHost() string
}

var _ dockerAPI = (*client.Client)(nil)

// Provider holds the engine clients shared by the four docker step types.
type Provider struct {
	log          *slog.Logger
	httpClient   *http.Client // for registry HTTP API calls
	dockerConfig string       // path of config.json; "" means ~/.docker/config.json

	mu      sync.Mutex
	clients map[connection]*client.Client
	// reaped holds the workspace/run keys reapKilled has run for.
	reaped map[string]bool
}

// Option configures a Provider.
type Option func(*Provider)

// WithLogger sets the logger for diagnostics (not user output).
func WithLogger(l *slog.Logger) Option { return func(p *Provider) { p.log = l } }

// WithHTTPClient sets the client used to talk to registries' HTTP API.
func WithHTTPClient(c *http.Client) Option { return func(p *Provider) { p.httpClient = c } }

// WithDockerConfig sets the path of the docker CLI config.json read for
// registry credentials (default: $DOCKER_CONFIG/config.json, else
// ~/.docker/config.json).
func WithDockerConfig(path string) Option { return func(p *Provider) { p.dockerConfig = path } }

// New returns a Provider; engine clients are created on first use.
func New(opts ...Option) *Provider {
	p := &Provider{
		log:        slog.New(slog.DiscardHandler),
		httpClient: http.DefaultClient,
		clients:    map[connection]*client.Client{},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Close closes every engine client the provider opened.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, c := range p.clients {
		c.Close()
		delete(p.clients, k)
	}
	return nil
}

// connection identifies an engine: the docker { } block's settings, or the
// zero value for "from the environment".
type connection struct {
	host, certPath, apiVersion string
	tlsVerify                  bool
}

func connectionOf(block cty.Value) connection {
	if block == cty.NilVal || block.IsNull() || !block.IsKnown() || !block.Type().IsObjectType() {
		return connection{}
	}
	return connection{
		host:       attrString(block, "host"),
		certPath:   attrString(block, "cert_path"),
		apiVersion: attrString(block, "api_version"),
		tlsVerify:  attrBool(block, "tls_verify"),
	}
}

// engine returns the (shared) client for env's connection.
func (p *Provider) engine(env providers.Env) (dockerAPI, error) {
	conn := connectionOf(env.Docker)
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[conn]; ok {
		return c, nil
	}
	c, err := client.New(conn.options()...)
	if err != nil {
		return nil, fmt.Errorf("configuring the Docker client: %w (check the docker { } block or DOCKER_HOST)", err)
	}
	p.clients[conn] = c
	return c, nil
}

func (c connection) options() []client.Opt {
	opts := []client.Opt{client.FromEnv}
	if c.host != "" {
		opts = append(opts, client.WithHost(c.host))
	}
	if c.certPath != "" {
		ca := ""
		if c.tlsVerify {
			ca = c.certPath + "/ca.pem"
		}
		opts = append(opts, client.WithTLSClientConfig(ca, c.certPath+"/cert.pem", c.certPath+"/key.pem"))
	}
	if c.apiVersion != "" {
		// An explicit version is an upper bound the user asked for.
		opts = append(opts, client.WithAPIVersion(c.apiVersion))
	}
	return opts
}

// localImageID fingerprints a step that uses a local image by the image's
// ID, so a rebuilt image under the same tag counts as a change. An image
// that is not there (yet) has no ID; that is not an error at plan time.
func (p *Provider) localImageID(ctx context.Context, req providers.FingerprintRequest) (map[string]string, error) {
	image := attrString(req.Inputs, "image")
	if image == "" {
		return nil, nil
	}
	api, err := p.engine(req.Env)
	if err != nil {
		return nil, err
	}
	img, err := api.ImageInspect(ctx, image)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspecting image %s: %w", image, err)
	}
	return map[string]string{"image": img.ID}, nil
}
