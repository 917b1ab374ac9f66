package kubernetes

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// clusterSettings is a step's `cluster` input: which kubeconfig and context
// to use, and the namespace it defaults to. Empty fields take kubectl's
// defaults. It is comparable and keys the client cache.
type clusterSettings struct {
	Kubeconfig string // path, "~" expanded; "" = KUBECONFIG, then ~/.kube/config
	Context    string // "" = current-context
	Namespace  string // "" = the context's namespace, then "default"
}

// clusterFromInput reads a cluster block value (an object with any of
// kubeconfig, context, namespace) or null.
func clusterFromInput(v cty.Value) (clusterSettings, error) {
	var s clusterSettings
	if v == cty.NilVal || v.IsNull() {
		return s, nil
	}
	if !v.IsWhollyKnown() {
		return s, fmt.Errorf("the cluster settings are not known yet")
	}
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		return s, fmt.Errorf("cluster must be a cluster block such as cluster.dev, not a %s", v.Type().FriendlyName())
	}
	a := attrs{v}
	if v.Type().IsMapType() {
		m := v.AsValueMap()
		a = attrs{cty.ObjectVal(m)}
	}
	s.Kubeconfig = a.str("kubeconfig")
	s.Context = a.str("context")
	s.Namespace = a.str("namespace")
	if s.Kubeconfig != "" {
		p, err := expandHome(s.Kubeconfig)
		if err != nil {
			return s, err
		}
		s.Kubeconfig = p
	}
	return s, nil
}

func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot expand %q: %w", p, err)
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

// client is the set of API clients for one cluster.
type client struct {
	config    *rest.Config
	endpoint  string // API server URL, for error messages
	namespace string // default namespace of the kubeconfig context ("default" if none)
	typed     kubernetes.Interface
	dynamic   dynamic.Interface
	discovery discovery.CachedDiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	kinds     meta.RESTMapper        // mapper with kubectl's short names (deploy, sts, cm, ...)
	loader    clientcmd.ClientConfig // the kubeconfig as loaded (for the Helm SDK's RESTClientGetter)
}

// newClient loads the kubeconfig like kubectl does (explicit path, else
// KUBECONFIG, else ~/.kube/config; the in-cluster service account when
// KUBERNETES_SERVICE_HOST is set and no kubeconfig exists) and builds clients.
func newClient(s clusterSettings, qps float32, burst int) (*client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if s.Kubeconfig != "" {
		if _, err := os.Stat(s.Kubeconfig); err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", s.Kubeconfig, err)
		}
		rules.ExplicitPath = s.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: s.Context}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading Kubernetes client configuration: %w (set KUBECONFIG or the cluster block's kubeconfig and context)", err)
	}
	ns, _, err := loader.Namespace()
	if err != nil || ns == "" {
		ns = "default"
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = qps, burst
	cfg.UserAgent = "ansflow"
	// Server-side apply warnings (e.g. deprecated APIs) are not errors.
	cfg.WarningHandler = rest.NoWarnings{}

	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc := memory.NewMemCacheClient(typed.Discovery())
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(disc)
	return &client{
		config:    cfg,
		endpoint:  cfg.Host,
		namespace: ns,
		typed:     typed,
		dynamic:   dyn,
		discovery: disc,
		mapper:    mapper,
		kinds:     restmapper.NewShortcutExpander(mapper, disc, func(string) {}),
		loader:    loader,
	}, nil
}

// clientAndNamespace returns the client for a step's cluster input and the
// namespace the step works in: its own namespace input, else the cluster
// block's, else the kubeconfig context's, else "default".
func (p *Provider) clientAndNamespace(inputs cty.Value) (*client, string, error) {
	a := attrs{inputs}
	s, err := clusterFromInput(a.get("cluster"))
	if err != nil {
		return nil, "", err
	}
	blockNS := s.Namespace
	s.Namespace = "" // the namespace does not change the connection; share the client
	c, err := p.clientFor(s)
	if err != nil {
		return nil, "", err
	}
	ns := a.str("namespace")
	if ns == "" {
		ns = blockNS
	}
	if ns == "" {
		ns = c.namespace
	}
	return c, ns, nil
}
