package kubernetes

import (
	"log/slog"
	"sync"

	"github.com/ansflow/ansflow/providers"
)

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

// Steps returns the step implementations by type name.
func (p *Provider) Steps() map[string]providers.Step {
	return map[string]providers.Step{
		"k8s_deploy": &deployStep{p: p},
		"k8s_scale":  &scaleStep{p: p},
		"k8s_delete": &deleteStep{p: p},
		"k8s_wait":   &waitStep{p: p},
		"k8s_exec":   &execStep{p: p},
		"k8s_logs":   &logsStep{p: p},

		"helm_release": &helmReleaseStep{p: p},
	}
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
