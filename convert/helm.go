package convert

import (
	"maps"
	"slices"
	"strings"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers/builtin"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"
)

// helmReleaseInputs is the order helm_release inputs are written in when
// this build has no helm_release schema to take the order from.
var helmReleaseInputs = []string{"cluster", "namespace", "name", "chart", "version", "values", "values_files", "create_namespace", "wait", "atomic"}

// isHelm reports whether a k8s_deploy's k8s_config describes a Helm
// deploy.
func isHelm(kc *fields) bool {
	if kc == nil {
		return false
	}
	if dt, ok := scalarString(kc.vals["deploy_type"]); ok && strings.EqualFold(dt, "helm") {
		return true
	}
	return kc.has("chart_name")
}

// helmDeploy is a Helm deploy as AnsFlow describes it.
type helmDeploy struct {
	name, chart, version, namespace hclwrite.Tokens
	values                          *yaml.Node
	valuesFiles                     hclwrite.Tokens
	createNamespace, wait, atomic   *yaml.Node
	timeout                         *yaml.Node
}

// helm converts a Helm deploy into a helm_release step, or, when this
// build has no helm_release, into an exec step running helm upgrade
// --install, with a warning.
func (c *converter) helm(s *step, kc *fields) {
	kc.take("deploy_type")
	h := c.readHelm(s, kc)
	if c.opts.HelmRelease {
		c.helmRelease(s, h)
	} else {
		c.helmExec(s, h)
	}
	kc.unused(s.typ, knownK8sConfig)
}

func (c *converter) readHelm(s *step, kc *fields) *helmDeploy {
	h := &helmDeploy{}
	if n := kc.take("release_name"); n != nil {
		h.name = c.value(s, n)
		if r := s.f.take("k8s_resource_name"); r != nil && r.Value != n.Value {
			c.warnf(r.Line, s.name, "k8s_resource_name is ignored because k8s_config.release_name names the Helm release")
		}
	} else if n := s.f.take("k8s_resource_name"); n != nil {
		h.name = c.value(s, n)
	} else {
		h.name = c.missing(s, "name", "string", "no k8s_config.release_name given")
	}
	chart := kc.take("chart_name")
	switch repo := kc.take("chart_repo"); {
	case chart == nil:
		h.chart = c.missing(s, "chart", "string", "no k8s_config.chart_name given")
	case repo != nil && strings.HasPrefix(repo.Value, "oci://"):
		h.chart = c.str(s, strings.TrimSuffix(repo.Value, "/")+"/"+chart.Value, chart.Line)
	case repo != nil:
		h.chart = c.value(s, chart)
		c.warnf(repo.Line, s.name, "k8s_config.chart_repo %q: add the repository where ansflow runs (helm repo add NAME %s) and write chart = \"NAME/%s\"; the chart is left as %q", repo.Value, repo.Value, chart.Value, chart.Value)
	default:
		h.chart = c.value(s, chart)
	}
	if v := kc.take("chart_version"); v != nil {
		h.version = c.str(s, v.Value, v.Line)
	}
	if ns := s.f.take("k8s_namespace"); ns != nil {
		h.namespace = c.value(s, ns)
	} else if c.namespace != "" {
		h.namespace = quoted(c.namespace)
	}
	h.values = kc.take("custom_values")
	if h.values != nil && h.values.Kind == yaml.ScalarNode && h.values.ShortTag() == "!!str" {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(h.values.Value), &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
			c.warnf(h.values.Line, s.name, "k8s_config.custom_values is not a YAML mapping; dropped")
			h.values = nil
		} else {
			fixLines(doc.Content[0], h.values.Line-1)
			h.values = doc.Content[0]
		}
	}
	if f := kc.takeFirst("values_file", "values_files"); f != nil {
		h.valuesFiles = c.value(s, f)
		if f.Kind != yaml.SequenceNode {
			h.valuesFiles = hclwrite.TokensForTuple([]hclwrite.Tokens{h.valuesFiles})
		}
	}
	h.createNamespace = kc.take("create_namespace")
	h.wait = kc.takeFirst("helm_wait", "wait")
	h.atomic = kc.take("helm_atomic")
	h.timeout = kc.takeFirst("helm_timeout", "timeout")
	if u := kc.take("helm_upgrade"); u != nil && u.Value == "false" {
		c.warnf(u.Line, s.name, "k8s_config.helm_upgrade: false (install only) has no equivalent: ansflow installs the release or upgrades it; dropped")
	}
	return h
}

func (c *converter) helmRelease(s *step, h *helmDeploy) {
	s.typ = "helm_release"
	if n := s.f.take("k8s_cluster"); n != nil {
		id, _ := scalarString(n)
		s.set("cluster", refTokens(traversal("cluster", c.cluster(id).name)))
	}
	s.set("name", h.name)
	s.set("chart", h.chart)
	s.set("version", h.version)
	s.set("namespace", h.namespace)
	if h.values != nil {
		vals := c.value(s, h.values)
		if in := helmInput("values"); in != nil && in.Type == cty.String {
			vals = hclwrite.TokensForFunctionCall("yamlencode", vals)
		}
		s.set("values", vals)
	}
	s.set("values_files", h.valuesFiles)
	for attr, n := range map[string]*yaml.Node{"create_namespace": h.createNamespace, "wait": h.wait, "atomic": h.atomic} {
		if n != nil {
			s.set(attr, c.value(s, n))
		}
	}
	if h.timeout != nil {
		s.timeout = c.duration(s, h.timeout)
	}
	if schema := builtin.Schemas().Lookup("helm_release"); schema != nil {
		for _, attr := range slices.Sorted(maps.Keys(s.attrs)) {
			if schema.Input(attr) == nil {
				c.warnf(s.line, s.name, "this build's helm_release has no %s input; dropped", attr)
			}
		}
	}
}

// helmInput returns the schema of a helm_release input, nil when unknown.
func helmInput(name string) *config.AttrSchema {
	if schema := builtin.Schemas().Lookup("helm_release"); schema != nil {
		return schema.Input(name)
	}
	return nil
}

func (c *converter) helmExec(s *step, h *helmDeploy) {
	s.typ = "exec"
	c.warnf(s.line, s.name, "Helm deploy: this build of ansflow has no helm_release step type, so it becomes an exec step running helm upgrade --install (helm must be installed where ansflow runs); convert again with an ansflow that has helm_release")
	if n := s.f.take("k8s_cluster"); n != nil {
		c.warnf(n.Line, s.name, "k8s_cluster: helm talks to the cluster of KUBECONFIG's current context; dropped")
	}
	argv := []hclwrite.Tokens{quoted("helm"), quoted("upgrade"), quoted("--install"), h.name, h.chart}
	flag := func(name string, val hclwrite.Tokens) {
		if val != nil {
			argv = append(argv, quoted(name), val)
		}
	}
	flag("--version", h.version)
	flag("--namespace", h.namespace)
	for _, b := range []struct {
		flag string
		n    *yaml.Node
	}{{"--create-namespace", h.createNamespace}, {"--wait", h.wait}, {"--atomic", h.atomic}} {
		if b.n != nil && b.n.Value == "true" {
			argv = append(argv, quoted(b.flag))
		}
	}
	if h.timeout != nil {
		flag("--timeout", c.duration(s, h.timeout))
	}
	if h.valuesFiles != nil {
		argv = append(argv, quoted("--values"), hclwrite.TokensForFunctionCall("join", quoted(","), h.valuesFiles))
	}
	if h.values != nil {
		for i := 0; i+1 < len(h.values.Content); i += 2 {
			k := h.values.Content[i].Value
			set := hclwrite.TokensForFunctionCall("format", quoted("%s=%s"), quoted(k),
				hclwrite.TokensForFunctionCall("jsonencode", c.entryValue(s, k, h.values.Content[i+1])))
			argv = append(argv, quoted("--set-json"), set)
		}
	}
	s.set("command", hclwrite.TokensForTuple(argv))
}

// manifest converts manifest_content (YAML text, one or more documents)
// into the manifest value, and manifest_path into yamldecode(file(...)).
func (c *converter) manifest(s *step, kc *fields) {
	if _, ok := s.attrs["manifest"]; ok {
		return
	}
	if n := kc.take("manifest_content"); n != nil {
		dec := yaml.NewDecoder(strings.NewReader(n.Value))
		var docs []hclwrite.Tokens
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				break
			}
			if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
				fixLines(doc.Content[0], n.Line)
				docs = append(docs, c.value(s, doc.Content[0]))
			}
		}
		switch len(docs) {
		case 0:
			c.warnf(n.Line, s.name, "k8s_config.manifest_content holds no Kubernetes object; dropped")
		case 1:
			s.set("manifest", docs[0])
		default:
			s.set("manifest", hclwrite.TokensForTuple(docs))
		}
		return
	}
	if n := kc.take("manifest_path"); n != nil {
		s.set("manifest", hclwrite.TokensForFunctionCall("yamldecode", hclwrite.TokensForFunctionCall("file", c.value(s, n))))
		c.warnf(n.Line, s.name, "k8s_config.manifest_path: the manifest is read with yamldecode(file(%q)), relative to the pipeline directory, and must hold one object", n.Value)
	}
}
