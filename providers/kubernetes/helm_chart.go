package kubernetes

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/registry"
)

// chartSource is a helm_release's chart input, resolved.
type chartSource struct {
	ref     string // as written: a path or oci://host/path/name[:tag]
	path    string // local directory or .tgz (absolute); "" for OCI
	version string // the version input
	reg     ociCredentials
}

// ociCredentials are a registry block's address and credentials.
type ociCredentials struct {
	address, username, password string
}

func chartSourceOf(dir string, in attrs) chartSource {
	src := chartSource{ref: in.str("chart"), version: in.str("version"), reg: ociCredentialsOf(in.get("registry"))}
	if !src.isOCI() {
		src.path = src.ref
		if !filepath.IsAbs(src.path) {
			src.path = filepath.Join(dir, src.path)
		}
	}
	return src
}

// ociCredentialsOf reads a registry block object, an address string, or null.
func ociCredentialsOf(v cty.Value) ociCredentials {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return ociCredentials{}
	}
	if v.Type() == cty.String {
		return ociCredentials{address: v.AsString()}
	}
	if !v.Type().IsObjectType() {
		return ociCredentials{}
	}
	a := attrs{v}
	return ociCredentials{address: a.str("address"), username: a.str("username"), password: a.str("password")}
}

func (s chartSource) isOCI() bool { return strings.HasPrefix(s.ref, registry.OCIScheme+"://") }

// host is the registry host of an OCI reference.
func (s chartSource) host() string {
	rest := strings.TrimPrefix(s.ref, registry.OCIScheme+"://")
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// ociRef is the reference to pull: host/path/name:tag, the tag from the
// version input when the reference has none.
func (s chartSource) ociRef() (string, error) {
	rest := strings.TrimPrefix(s.ref, registry.OCIScheme+"://")
	name := rest[strings.LastIndex(rest, "/")+1:]
	if strings.Contains(name, "@") {
		return rest, nil
	}
	if i := strings.LastIndex(name, ":"); i >= 0 {
		if tag := name[i+1:]; s.version != "" && s.version != tag {
			return "", fmt.Errorf("chart %s has the tag %s but version is %q; set only one of them", s.ref, tag, s.version)
		}
		return rest, nil
	}
	if s.version == "" {
		return "", fmt.Errorf("chart %s has no tag: set version (e.g. version = \"1.2.3\") or write %s:1.2.3", s.ref, s.ref)
	}
	return rest + ":" + strings.ReplaceAll(s.version, "+", "_"), nil
}

// registryClient returns an OCI client for the chart's registry, with the
// registry block's credentials when its address is the chart's host.
// Loopback registries are spoken to over plain HTTP, as Docker does.
func (s chartSource) registryClient() (*registry.Client, error) {
	host := s.host()
	opts := []registry.ClientOption{registry.ClientOptEnableCache(true)}
	if s.reg.address != "" {
		if strings.TrimPrefix(strings.TrimPrefix(s.reg.address, "https://"), "http://") != host {
			return nil, fmt.Errorf("registry %s is not the chart's registry %s; set registry to the registry block of %s", s.reg.address, host, host)
		}
		if s.reg.username != "" || s.reg.password != "" {
			opts = append(opts, registry.ClientOptBasicAuth(s.reg.username, s.reg.password))
		}
	}
	if isLoopbackHost(host) {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	return registry.NewClient(opts...)
}

func isLoopbackHost(hostport string) bool {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// digest is a content hash of the chart without loading it for a release:
// the OCI manifest digest, the sha256 of a .tgz, or a hash of a directory's
// files as Helm loads them (honouring .helmignore).
func (s chartSource) digest() (string, error) {
	if s.isOCI() {
		ref, err := s.ociRef()
		if err != nil {
			return "", err
		}
		rc, err := s.registryClient()
		if err != nil {
			return "", err
		}
		desc, err := rc.Resolve(ref)
		if err != nil {
			return "", fmt.Errorf("resolving chart %s: %w", ref, err)
		}
		return desc.Digest.String(), nil
	}
	_, d, err := s.loadLocal()
	return d, err
}

// load reads the chart and its content hash.
func (s chartSource) load() (*chart.Chart, string, error) {
	if !s.isOCI() {
		return s.loadLocal()
	}
	ref, err := s.ociRef()
	if err != nil {
		return nil, "", err
	}
	rc, err := s.registryClient()
	if err != nil {
		return nil, "", err
	}
	res, err := rc.Pull(ref)
	if err != nil {
		return nil, "", fmt.Errorf("pulling chart %s: %w", ref, err)
	}
	ch, err := loader.LoadArchive(bytes.NewReader(res.Chart.Data))
	if err != nil {
		return nil, "", fmt.Errorf("chart %s: %w", ref, err)
	}
	return ch, res.Manifest.Digest, nil
}

func (s chartSource) loadLocal() (*chart.Chart, string, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return nil, "", fmt.Errorf("chart %q: %w (a chart is a directory, a .tgz relative to the pipeline directory, or oci://...)", s.ref, err)
	}
	var ch *chart.Chart
	var digest string
	if fi.IsDir() {
		ch, err = loader.LoadDir(s.path)
		if err == nil {
			digest = rawDigest(ch)
		}
	} else {
		data, rerr := os.ReadFile(s.path)
		if rerr != nil {
			return nil, "", fmt.Errorf("chart %q: %w", s.ref, rerr)
		}
		sum := sha256.Sum256(data)
		digest = "sha256:" + hex.EncodeToString(sum[:])
		ch, err = loader.LoadArchive(bytes.NewReader(data))
	}
	if err != nil {
		return nil, "", fmt.Errorf("chart %q: %w", s.ref, err)
	}
	if s.version != "" && ch.Metadata.Version != s.version {
		return nil, "", fmt.Errorf("chart %q is version %s, not %s as version says", s.ref, ch.Metadata.Version, s.version)
	}
	return ch, digest, nil
}

// rawDigest hashes the names and contents of every file Helm loaded.
func rawDigest(ch *chart.Chart) string {
	files := append(ch.Raw[:0:0], ch.Raw...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Name, len(f.Data))
		h.Write(f.Data)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// helmValues merges the values files (in order, like -f) and the values
// object over them (like --set-json), as the Helm CLI does.
func helmValues(dir string, in attrs) (map[string]any, error) {
	var opts values.Options
	for _, f := range in.strList("values_files") {
		opts.ValueFiles = append(opts.ValueFiles, pipelinePath(dir, f))
	}
	if v := in.get("values"); !v.IsNull() {
		if !v.Type().IsObjectType() && !v.Type().IsMapType() {
			return nil, fmt.Errorf("values must be an object such as { replicas = 2 }, not %s", v.Type().FriendlyName())
		}
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return nil, fmt.Errorf("values: %w", err)
		}
		opts.JSONValues = []string{string(b)}
	}
	vals, err := opts.MergeValues(nil)
	if err != nil {
		return nil, fmt.Errorf("values_files: %w", err)
	}
	return vals, nil
}

func pipelinePath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// valuesFileHashes hashes each values file, keyed by the path as written.
func valuesFileHashes(dir string, in attrs) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range in.strList("values_files") {
		data, err := os.ReadFile(pipelinePath(dir, f))
		if err != nil {
			return nil, fmt.Errorf("values_files: %w", err)
		}
		sum := sha256.Sum256(data)
		out[f] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return out, nil
}
