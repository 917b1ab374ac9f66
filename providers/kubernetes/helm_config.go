package kubernetes

import (
	"context"
	"fmt"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/kube"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// helmStorageDriver keeps release records as Secrets in the release's
// namespace, Helm's default, so `helm history` and `helm rollback` work.
const helmStorageDriver = "secrets"

// helmReleaseAnnotation is what Helm sets on every object of a release.
const helmReleaseAnnotation = "meta.helm.sh/release-name"

// helmGetter is the Helm SDK's RESTClientGetter over the package's own
// client: the same kubeconfig, context, rate limits, discovery cache and
// REST mapper as the other k8s_* steps, with the release's namespace.
type helmGetter struct {
	c  *client
	ns string
}

func (g helmGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.c.config), nil }

func (g helmGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.c.discovery, nil
}

func (g helmGetter) ToRESTMapper() (meta.RESTMapper, error) { return g.c.mapper, nil }

func (g helmGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return namespacedConfig{loaded: g.c.loader, ns: g.ns}
}

// namespacedConfig is the kubeconfig as loaded, with the release's namespace.
type namespacedConfig struct {
	loaded clientcmd.ClientConfig
	ns     string
}

func (n namespacedConfig) RawConfig() (clientcmdapi.Config, error) { return n.loaded.RawConfig() }
func (n namespacedConfig) ClientConfig() (*rest.Config, error)     { return n.loaded.ClientConfig() }
func (n namespacedConfig) Namespace() (string, bool, error)        { return n.ns, true, nil }
func (n namespacedConfig) ConfigAccess() clientcmd.ConfigAccess    { return n.loaded.ConfigAccess() }

// helmConfig is the action.Configuration of one namespace of one cluster,
// shared by every helm_release step there.
type helmConfig struct {
	cfg *action.Configuration
	c   *client
	ns  string
	// watches holds, by release name, the pod watch of the apply under way,
	// started when Helm begins to wait for the release's objects.
	watches sync.Map // string -> *releaseWatch
}

type helmConfigKey struct {
	c  *client
	ns string
}

// helmConfigs builds one helmConfig per cluster and namespace, once.
type helmConfigs struct {
	mu    sync.Mutex
	slots map[helmConfigKey]*helmConfigSlot
}

type helmConfigSlot struct {
	once sync.Once
	hc   *helmConfig
	err  error
}

func (h *helmConfigs) get(p *Provider, c *client, ns string) (*helmConfig, error) {
	h.mu.Lock()
	if h.slots == nil {
		h.slots = map[helmConfigKey]*helmConfigSlot{}
	}
	key := helmConfigKey{c, ns}
	slot, ok := h.slots[key]
	if !ok {
		slot = &helmConfigSlot{}
		h.slots[key] = slot
	}
	h.mu.Unlock()
	slot.once.Do(func() { slot.hc, slot.err = newHelmConfig(p, c, ns) })
	return slot.hc, slot.err
}

func newHelmConfig(p *Provider, c *client, ns string) (*helmConfig, error) {
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(p.log.Handler()))
	if err := cfg.Init(helmGetter{c: c, ns: ns}, ns, helmStorageDriver); err != nil {
		return nil, fmt.Errorf("setting up Helm for namespace %s: %w", ns, err)
	}
	kc, ok := cfg.KubeClient.(*kube.Client)
	if !ok {
		return nil, fmt.Errorf("setting up Helm: unexpected Kubernetes client %T", cfg.KubeClient)
	}
	kc.Namespace = ns
	hc := &helmConfig{cfg: cfg, c: c, ns: ns}
	cfg.KubeClient = &watchingKube{Client: kc, hc: hc}
	// Actions sharing the configuration would each fill in the cluster's
	// capabilities on first use, unsynchronised: fill them in once here.
	caps, err := capabilitiesOf(c)
	if err != nil {
		return nil, err
	}
	cfg.Capabilities = caps
	return hc, nil
}

// capabilitiesOf reads the server version and API versions that chart
// templates see as .Capabilities.
func capabilitiesOf(c *client) (*common.Capabilities, error) {
	v, err := c.discovery.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("reading the Kubernetes version: %w", c.apiError(err))
	}
	apis, err := action.GetVersionSet(c.discovery)
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("reading the cluster's API versions: %w", c.apiError(err))
	}
	return &common.Capabilities{
		APIVersions: apis,
		KubeVersion: common.KubeVersion{Version: v.GitVersion, Major: v.Major, Minor: v.Minor},
		HelmVersion: common.DefaultCapabilities.HelmVersion,
	}, nil
}

// watchingKube is Helm's Kubernetes client whose waits also watch the pods
// of the workloads waited for, so that a crash loop fails the wait at once
// with the pod's reason instead of at the timeout.
type watchingKube struct {
	*kube.Client
	hc *helmConfig
}

func (k *watchingKube) GetWaiterWithOptions(ws kube.WaitStrategy, opts ...kube.WaitOption) (kube.Waiter, error) {
	w, err := k.Client.GetWaiterWithOptions(ws, opts...)
	if err != nil {
		return nil, err
	}
	return podWatchingWaiter{Waiter: w, hc: k.hc}, nil
}

func (k *watchingKube) GetWaiter(ws kube.WaitStrategy) (kube.Waiter, error) {
	return k.GetWaiterWithOptions(ws)
}

type podWatchingWaiter struct {
	kube.Waiter
	hc *helmConfig
}

func (w podWatchingWaiter) Wait(res kube.ResourceList, timeout time.Duration) error {
	w.hc.watchPods(res)
	return w.Waiter.Wait(res, timeout)
}

func (w podWatchingWaiter) WaitWithJobs(res kube.ResourceList, timeout time.Duration) error {
	w.hc.watchPods(res)
	return w.Waiter.WaitWithJobs(res, timeout)
}

// watchPods starts watching the pods of each workload in res, on behalf of
// the apply of the release the workload belongs to (if one is under way).
func (hc *helmConfig) watchPods(res kube.ResourceList) {
	for _, info := range res {
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(info.Object)
			if err != nil {
				continue
			}
			u = &unstructured.Unstructured{Object: m}
		}
		rw, ok := hc.watches.Load(u.GetAnnotations()[helmReleaseAnnotation])
		if !ok {
			continue
		}
		ns := u.GetNamespace()
		if ns == "" {
			ns = hc.ns
		}
		rw.(*releaseWatch).watch(ns, refOf(u).String(), podSelector(u))
	}
}

// releaseWatch is the pod watch of one apply: the first pod that cannot
// start cancels ctx with a *PodFailure as its cause.
type releaseWatch struct {
	c      *client
	ctx    context.Context
	cancel context.CancelCauseFunc
	mu     sync.Mutex
	byNS   map[string]*podFailureWatcher
}

func (rw *releaseWatch) watch(ns, owner, selector string) {
	if selector == "" || rw.ctx.Err() != nil {
		return
	}
	rw.mu.Lock()
	w, ok := rw.byNS[ns]
	if !ok {
		w = rw.c.newPodFailureWatcher(rw.ctx, rw.cancel, ns)
		rw.byNS[ns] = w
	}
	rw.mu.Unlock()
	w.watchSelector(owner, selector)
}

// deferredWaitOption is a Helm wait option decided each time Helm gets a
// waiter (its options' type is unexported, hence the type parameters).
func deferredWaitOption[F ~func(P), P any](pick func() F) F {
	return F(func(p P) { pick()(p) })
}
