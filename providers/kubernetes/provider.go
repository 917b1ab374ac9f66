package kubernetes

import (
	"log/slog"
	"sync"

	"github.com/ansflow/ansflow/config"
	"github.com/zclconf/go-cty/cty"
)

// Inputs shared by the Kubernetes step types.
var (
	clusterInput = config.AttrSchema{
		Name: "cluster", Type: cty.DynamicPseudoType, DefaultCluster: true,
		Description: "The `cluster` block to talk to (e.g. `cluster.dev`). Defaults to the only cluster block, else the kubeconfig's current context.",
	}
	namespaceInput = config.Attr("namespace", cty.String, "Namespace of the object. Defaults to the cluster block's namespace, else the kubeconfig context's, else `default`.")
	kindInput      = config.Attr("kind", cty.String, "Kind of object, kubectl style: `deployment`, `deploy`, `statefulset`, `job`, `pod`, `service`, `configmap`, ...; resolved through API discovery.").WithExample(cty.StringVal("deployment"))
	podInput       = config.Attr("pod", cty.String, "Name of the pod. Either `pod` or `pod_selector` is required.")
	podSelInput    = config.Attr("pod_selector", cty.String, "Label selector (`app=my-app`) choosing a ready pod.").WithExample(cty.StringVal("app=my-app"))
	containerInput = config.Attr("container", cty.String, "Container in the pod. Defaults to the pod's first container.")
)

// podInputs are the inputs that choose a pod's container, followed by
// more.
func podInputs(more ...config.AttrSchema) []config.AttrSchema {
	return append([]config.AttrSchema{clusterInput, namespaceInput, podInput, podSelInput, containerInput}, more...)
}

// Provider carries out the k8s_* step types. It keeps one set of API clients
// per distinct cluster settings, created on first use and shared by every
// step; it is safe for concurrent use.
type Provider struct {
	log   *slog.Logger
	qps   float32
	burst int

	mu      sync.Mutex
	clients map[clusterSettings]*clientSlot
}

// clientSlot builds a client once; concurrent callers wait for the same result.
type clientSlot struct {
	once sync.Once
	c    *client
	err  error
}

// Option configures a Provider.
type Option func(*Provider)

// WithLogger sets the logger for diagnostics of ansflow itself (not user output).
func WithLogger(l *slog.Logger) Option { return func(p *Provider) { p.log = l } }

// WithRateLimit sets the client-side request rate limit per cluster
// (default 50 requests/s, bursts of 100; client-go's own default is 5/10).
func WithRateLimit(qps float32, burst int) Option {
	return func(p *Provider) { p.qps, p.burst = qps, burst }
}

// New returns a Provider.
func New(opts ...Option) *Provider {
	p := &Provider{
		log:     slog.New(slog.DiscardHandler),
		qps:     50,
		burst:   100,
		clients: map[clusterSettings]*clientSlot{},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// clientFor returns the shared client for the settings, creating it once.
func (p *Provider) clientFor(s clusterSettings) (*client, error) {
	p.mu.Lock()
	slot, ok := p.clients[s]
	if !ok {
		slot = &clientSlot{}
		p.clients[s] = slot
	}
	p.mu.Unlock()
	slot.once.Do(func() { slot.c, slot.err = newClient(s, p.qps, p.burst) })
	return slot.c, slot.err
}
