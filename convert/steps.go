package convert

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"go.yaml.in/yaml/v3"
)

// stepConverters fill in the block of each step type. AnsFlow's step types
// have the same names as ansflow's.
var stepConverters = map[string]func(*converter, *step){
	"docker_build": (*converter).dockerBuild,
	"docker_run":   (*converter).dockerRun,
	"docker_push":  (*converter).dockerPush,
	"docker_pull":  (*converter).dockerPull,
	"k8s_deploy":   (*converter).k8sDeploy,
	"k8s_scale":    (*converter).k8sScale,
	"k8s_delete":   (*converter).k8sDelete,
	"k8s_wait":     (*converter).k8sWait,
	"k8s_exec":     (*converter).k8sExec,
	"k8s_logs":     (*converter).k8sLogs,
	"exec":         (*converter).exec,

	"fetch_code": (*converter).shellStep, "git_clone": (*converter).shellStep,
	"build": (*converter).shellStep, "test": (*converter).shellStep,
	"test_execution": (*converter).shellStep, "security_scan": (*converter).shellStep,
	"deploy": (*converter).shellStep, "custom": (*converter).shellStep,
	"script": (*converter).shellStep, "shell_command": (*converter).shellStep,
	"ansible": (*converter).shellStep,
	"notify":  nil, // becomes a notify block: see notifyStep
}

// Field names AnsFlow knows, so that a field a step type does not use is
// reported as such rather than as unknown.
var (
	knownStepFields = setOf("docker_image", "docker_tag", "docker_registry", "docker_config",
		"k8s_cluster", "k8s_namespace", "k8s_resource_name", "k8s_config", "command", "conditions",
		"parameters", "environment_vars", "notification_config")
	knownDockerConfig = setOf("dockerfile", "context", "build_args", "target", "labels", "no_cache", "tags",
		"command", "entrypoint", "environment", "env", "working_dir", "workdir", "volumes", "network",
		"user", "remove", "detach", "name", "registry_url", "repository", "platform", "policy", "timeout",
		"username", "password", "image_name", "image", "tag", "ports")
	knownK8sConfig = setOf("deployment_spec", "resource_type", "condition", "timeout", "pod_selector",
		"pod", "container", "replicas", "command", "selector", "label_selector", "propagation",
		"tail_lines", "since", "wait", "service", "manifest", "manifest_content", "manifest_path",
		"wait_for_rollout", "deploy_type", "chart_name", "chart_repo", "chart_version", "release_name",
		"values_file", "custom_values", "helm_upgrade", "helm_wait", "helm_atomic", "helm_timeout")
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// copyField sets attr from the first of keys present in f.
func (c *converter) copyField(s *step, f *fields, attr string, keys ...string) {
	if v := f.takeFirst(keys...); v != nil {
		s.set(attr, c.value(s, v))
	}
}

// copyArgv sets attr from a command-like field of f.
func (c *converter) copyArgv(s *step, f *fields, attr string, keys ...string) bool {
	v := f.takeFirst(keys...)
	if v == nil {
		return false
	}
	s.set(attr, c.argv(s, v, f.prefix+keys[0]))
	return true
}

// stepTimeout sets the timeout meta-argument from f's timeout field.
func (c *converter) stepTimeout(s *step, f *fields) {
	if v := f.take("timeout"); v != nil {
		s.timeout = c.duration(s, v)
	}
}

func refTokens(t hcl.Traversal) hclwrite.Tokens { return hclwrite.TokensForTraversal(t) }

func (c *converter) dockerBuild(s *step) {
	dc := c.stepConfig(s, "docker_config")
	img, tag := s.f.take("docker_image"), s.f.take("docker_tag")
	if img == nil {
		img = dc.takeFirst("image_name", "image")
	}
	if tag == nil {
		tag = dc.take("tag")
	}
	if img != nil {
		s.image, _ = scalarString(img)
		s.set("image", c.value(s, img))
	} else {
		s.set("image", c.missing(s, "image", "string", "no docker_image given"))
	}
	if tag != nil {
		s.tag, _ = scalarString(tag)
		s.set("tag", c.value(s, tag))
	}
	c.copyField(s, dc, "dockerfile", "dockerfile")
	c.copyField(s, dc, "context", "context")
	c.copyField(s, dc, "build_args", "build_args")
	c.copyField(s, dc, "target", "target")
	c.copyField(s, dc, "labels", "labels")
	c.copyField(s, dc, "no_cache", "no_cache")
	c.copyField(s, dc, "tags", "tags")
	c.stepTimeout(s, dc)
	dc.unused("docker_build", knownDockerConfig)
	c.lastBuild = s
}

func (c *converter) dockerRun(s *step) {
	dc := c.stepConfig(s, "docker_config")
	s.set("image", c.image(s, dc, true))
	c.copyField(s, dc, "name", "name", "container_name")
	if !c.copyArgv(s, dc, "command", "command", "cmd") {
		c.copyArgv(s, s.f, "command", "command")
	}
	c.copyArgv(s, dc, "entrypoint", "entrypoint")
	c.copyField(s, dc, "env", "environment", "env")
	c.copyField(s, dc, "workdir", "working_dir", "workdir")
	c.copyField(s, dc, "volumes", "volumes")
	c.copyField(s, dc, "network", "network", "network_mode")
	c.copyField(s, dc, "user", "user")
	c.copyField(s, dc, "remove", "remove", "auto_remove")
	c.copyField(s, dc, "detach", "detach")
	c.copyField(s, dc, "expect_exit_code", "expect_exit_code")
	c.stepTimeout(s, dc)
	dc.unused("docker_run", knownDockerConfig)
}

func (c *converter) dockerPush(s *step) {
	dc := c.stepConfig(s, "docker_config")
	s.set("image", c.image(s, dc, true))
	c.registry(s, dc)
	c.copyField(s, dc, "repository", "repository")
	c.copyField(s, dc, "tags", "tags")
	c.stepTimeout(s, dc)
	dc.unused("docker_push", knownDockerConfig)
	c.lastPush = s
}

func (c *converter) dockerPull(s *step) {
	dc := c.stepConfig(s, "docker_config")
	s.set("image", c.image(s, dc, false))
	c.registry(s, dc)
	c.copyField(s, dc, "platform", "platform")
	c.copyField(s, dc, "policy", "policy", "pull_policy")
	c.stepTimeout(s, dc)
	dc.unused("docker_pull", knownDockerConfig)
}

// image is a docker step's image: docker_image[:docker_tag], as a reference
// to the docker_build that builds it when there is one; without
// docker_image, the latest docker_build's image when useBuilt is set.
func (c *converter) image(s *step, dc *fields, useBuilt bool) hclwrite.Tokens {
	img, tag := s.f.take("docker_image"), s.f.take("docker_tag")
	if img == nil {
		img = dc.takeFirst("image_name", "image")
	}
	if tag == nil {
		tag = dc.take("tag")
	}
	if img == nil {
		if tag != nil {
			c.warnf(tag.Line, s.name, "docker_tag is set without docker_image; dropped")
		}
		if useBuilt && c.lastBuild != nil {
			return refTokens(c.ref(s, c.lastBuild, "ref"))
		}
		return c.missing(s, "image", "string", "no docker_image given and no earlier docker_build to take it from")
	}
	text, _ := scalarString(img)
	tagText, hasTag := scalarString(tag)
	if b := c.builder(text, tagText, hasTag); b != nil {
		return refTokens(c.ref(s, b, "ref"))
	}
	if hasTag {
		text += ":" + tagText
	}
	return c.str(s, text, img.Line)
}

// builder returns the latest docker_build of image (with tag, when given).
func (c *converter) builder(image, tag string, hasTag bool) *step {
	for i := len(c.steps) - 1; i >= 0; i-- {
		b := c.steps[i]
		if b.typ == "docker_build" && b.image == image && (!hasTag || b.tag == tag) {
			return b
		}
	}
	return nil
}

// imageSource is the step whose ref {{docker_image}} means: the latest
// docker_push, else the latest docker_build.
func (c *converter) imageSource() *step {
	if c.lastPush != nil {
		return c.lastPush
	}
	return c.lastBuild
}

// registry sets the step's registry from docker_registry (a stored AnsFlow
// registry) and docker_config.registry_url, declaring the registry block.
func (c *converter) registry(s *step, dc *fields) {
	id, url := s.f.take("docker_registry"), dc.take("registry_url")
	creds := dc
	if id != nil && id.Kind == yaml.MappingNode {
		// A registry object: {id, url, username, password}.
		rf := c.fieldsOf(id, s.name, "docker_registry.")
		id = rf.take("id")
		if u := rf.takeFirst("url", "registry_url", "address"); u != nil && url == nil {
			url = u
		}
		defer func() { c.credentials(s, rf, c.lastRegistry); rf.unused("", nil) }()
	}
	defer func() { c.credentials(s, creds, c.lastRegistry) }()
	if id == nil && url == nil {
		c.lastRegistry = nil
		return
	}
	idText, _ := scalarString(id)
	urlText, _ := scalarString(url)
	key := "id:" + idText
	if url != nil {
		key = "url:" + urlText
	}
	r := findConnection(c.registries, key)
	if r == nil {
		r = &connection{key: key, name: "main"}
		if len(c.registries) > 0 {
			r.name = labelFor("registry "+urlText+" "+idText, len(c.registries)+1, map[string]bool{})
		}
		c.registries = append(c.registries, r)
		r.comment = "Add username and password if the registry needs credentials."
		if id != nil {
			r.comment = "Stored AnsFlow registry " + idText + ": add username and password if it needs credentials."
		}
		if url != nil {
			r.attrs = append(r.attrs, namedTokens{"address", c.str(nil, urlText, url.Line)})
		} else {
			name := r.name + "_registry_address"
			if r.name == "main" {
				name = "registry_address"
			}
			c.declareVar(name, "string")
			c.warnf(id.Line, s.name, "docker_registry %s is a registry stored in AnsFlow whose address is not in the file; registry.%s reads it from var.%s", idText, r.name, name)
			r.attrs = append(r.attrs, namedTokens{"address", refTokens(traversal("var", name))})
		}
	}
	c.lastRegistry = r
	s.set("registry", refTokens(traversal("registry", r.name)))
}

// credentials moves username and password of f into the registry block r
// as sensitive variables, so that they never appear in the HCL. With r nil
// (no registry to attach them to), they are reported.
func (c *converter) credentials(s *step, f *fields, r *connection) {
	for _, key := range []string{"username", "password"} {
		v := f.take(key)
		if v == nil {
			continue
		}
		if r == nil {
			c.warnf(v.Line, s.name, "%s%s is given without a registry to use it for; dropped", f.prefix, key)
			continue
		}
		if hasAttr(r.attrs, key) {
			continue
		}
		name := r.name + "_registry_" + key
		if r.name == "main" {
			name = "registry_" + key
		}
		r.attrs = append(r.attrs, namedTokens{key, c.secret(s, name, v.Line, f.prefix+key)})
		r.comment = ""
	}
}

func hasAttr(attrs []namedTokens, name string) bool {
	for _, a := range attrs {
		if a.name == name {
			return true
		}
	}
	return false
}

func findConnection(list []*connection, key string) *connection {
	for _, conn := range list {
		if conn.key == key {
			return conn
		}
	}
	return nil
}

// cluster returns the cluster block for a stored AnsFlow cluster id ("" for
// the default one), declaring it on first use.
func (c *converter) cluster(id string) *connection {
	key := "id:" + id
	if cl := findConnection(c.clusters, key); cl != nil {
		return cl
	}
	cl := &connection{key: key, name: "default"}
	if len(c.clusters) > 0 {
		cl.name = labelFor("cluster "+id, len(c.clusters)+1, map[string]bool{})
	}
	cl.comment = "Set kubeconfig and context to reach the cluster (default: KUBECONFIG or ~/.kube/config, current context)."
	if id != "" {
		cl.comment = "Stored AnsFlow cluster " + id + ": set kubeconfig and context to reach it (default: KUBECONFIG or ~/.kube/config, current context)."
	}
	if c.namespace != "" {
		cl.attrs = append(cl.attrs, namedTokens{"namespace", quoted(c.namespace)})
	}
	c.clusters = append(c.clusters, cl)
	return cl
}

// k8sTarget sets cluster and namespace of a k8s step. target is the
// k8s_deploy the step acts on implicitly, if any: without a namespace of its
// own the step uses the deployment's.
func (c *converter) k8sTarget(s *step, target *step) {
	if n := s.f.take("k8s_cluster"); n != nil {
		id, _ := scalarString(n)
		s.set("cluster", refTokens(traversal("cluster", c.cluster(id).name)))
	} else if c.namespace != "" {
		c.cluster(c.clusterID) // the block that carries the default namespace
	}
	ns := s.f.take("k8s_namespace")
	switch text, _ := scalarString(ns); {
	case ns != nil && !(c.namespace != "" && text == c.namespace):
		s.set("namespace", c.value(s, ns))
		s.hasNamespace = true
	case ns == nil && target != nil && target.hasNamespace:
		s.set("namespace", refTokens(c.ref(s, target, "namespace")))
	}
}

// deployTarget sets name from k8s_resource_name, or else refers to the
// latest k8s_deploy's name and returns that step.
func (c *converter) deployTarget(s *step) (target *step, named bool) {
	if n := s.f.take("k8s_resource_name"); n != nil {
		s.set("name", c.value(s, n))
		return nil, true
	}
	if c.lastDeploy != nil {
		s.set("name", refTokens(c.ref(s, c.lastDeploy, "name")))
		return c.lastDeploy, true
	}
	return nil, false
}

// kind sets kind from resource_type; "deployment" when acting on a
// k8s_deploy; else a variable when required.
func (c *converter) kind(s *step, kc *fields, target *step, required bool) {
	switch v := kc.takeFirst("resource_type", "kind"); {
	case v != nil:
		s.set("kind", c.value(s, v))
	case target != nil && required:
		s.set("kind", quoted("deployment"))
	case required:
		s.set("kind", c.missing(s, "kind", "string", "no k8s_config.resource_type given"))
	}
}

func (c *converter) k8sDeploy(s *step) {
	kc := c.stepConfig(s, "k8s_config")
	if isHelm(kc) {
		c.helm(s, kc)
		return
	}
	hasManifest := kc.has("manifest") || kc.has("manifest_content") || kc.has("manifest_path")
	if n := s.f.take("k8s_resource_name"); n != nil {
		s.set("name", c.value(s, n))
	} else if !hasManifest {
		s.set("name", c.missing(s, "name", "string", "no k8s_resource_name given"))
	}
	c.k8sTarget(s, nil)
	spec := kc.sub("deployment_spec")
	c.copyField(s, spec, "replicas", "replicas")
	if _, ok := s.attrs["replicas"]; !ok {
		c.copyField(s, kc, "replicas", "replicas")
	}
	switch img := spec.take("image"); {
	case img != nil:
		s.set("image", c.value(s, img))
	case s.f.has("docker_image"):
		s.set("image", c.image(s, nil, false))
	case c.imageSource() != nil:
		s.set("image", refTokens(c.ref(s, c.imageSource(), "ref")))
	case !hasManifest:
		s.set("image", c.missing(s, "image", "string", "no deployment_spec.image given and no earlier docker_push or docker_build"))
	}
	if v := spec.take("ports"); v != nil {
		s.set("ports", c.ports(s, v))
	}
	c.copyField(s, spec, "env", "environment", "env")
	c.copyField(s, spec, "labels", "labels")
	c.copyArgv(s, spec, "command", "command")
	c.copyArgv(s, spec, "args", "args")
	c.copyField(s, spec, "resources", "resources")
	c.copyField(s, kc, "service", "service")
	c.copyField(s, kc, "manifest", "manifest")
	c.manifest(s, kc)
	c.copyField(s, kc, "wait", "wait", "wait_for_rollout")
	if dt := kc.take("deploy_type"); dt != nil && dt.Value != "deployment" && dt.Value != "rolling_update" && dt.Value != "manifest" {
		c.warnf(dt.Line, s.name, "k8s_config.deploy_type %q: ansflow applies Deployments with server-side apply (a rolling update); dropped", dt.Value)
	}
	c.stepTimeout(s, kc)
	spec.unused("", nil)
	kc.unused("k8s_deploy", knownK8sConfig)
	c.lastDeploy = s
}

func (c *converter) k8sScale(s *step) {
	target, named := c.deployTarget(s)
	if !named {
		s.set("name", c.missing(s, "name", "string", "no k8s_resource_name given and no earlier k8s_deploy"))
	}
	c.k8sTarget(s, target)
	kc := c.stepConfig(s, "k8s_config")
	c.kind(s, kc, target, false)
	if v := kc.take("replicas"); v != nil {
		s.set("replicas", c.value(s, v))
	} else {
		s.set("replicas", c.missing(s, "replicas", "number", "no k8s_config.replicas given"))
	}
	c.copyField(s, kc, "wait", "wait")
	c.stepTimeout(s, kc)
	kc.unused("k8s_scale", knownK8sConfig)
}

func (c *converter) k8sDelete(s *step) {
	c.k8sSelected(s, "k8s_delete", "propagation")
}

func (c *converter) k8sWait(s *step) {
	c.k8sSelected(s, "k8s_wait", "condition")
}

// k8sSelected converts k8s_delete and k8s_wait, which act on objects chosen
// by kind and name or selector, plus one more field (extra).
func (c *converter) k8sSelected(s *step, typ, extra string) {
	kc := c.stepConfig(s, "k8s_config")
	var target *step
	if sel := kc.takeFirst("selector", "label_selector"); sel != nil {
		s.set("selector", c.value(s, sel))
		if n := s.f.take("k8s_resource_name"); n != nil {
			s.set("name", c.value(s, n))
		}
	} else if t, named := c.deployTarget(s); named {
		target = t
	} else {
		s.set("name", c.missing(s, "name", "string", "no k8s_resource_name or k8s_config.selector given and no earlier k8s_deploy"))
	}
	c.k8sTarget(s, target)
	c.kind(s, kc, target, true)
	if v := kc.take(extra); v != nil {
		s.set(extra, c.value(s, v))
	} else if typ == "k8s_wait" {
		s.set(extra, c.missing(s, extra, "string", "no k8s_config.condition given"))
	}
	c.stepTimeout(s, kc)
	kc.unused(typ, knownK8sConfig)
}

func (c *converter) k8sExec(s *step) {
	kc := c.k8sPod(s)
	if !c.copyArgv(s, s.f, "command", "command") && !c.copyArgv(s, kc, "command", "command") {
		s.set("command", c.missing(s, "command", "list(string)", "no command given"))
	}
	c.copyField(s, kc, "expect_exit_code", "expect_exit_code")
	c.stepTimeout(s, kc)
	kc.unused("k8s_exec", knownK8sConfig)
}

func (c *converter) k8sLogs(s *step) {
	kc := c.k8sPod(s)
	c.copyField(s, kc, "tail_lines", "tail_lines", "tail")
	c.copyField(s, kc, "since", "since")
	c.stepTimeout(s, kc)
	kc.unused("k8s_logs", knownK8sConfig)
}

// k8sPod sets the pod of k8s_exec and k8s_logs: k8s_resource_name or
// k8s_config.pod names it, pod_selector selects it, and without either the
// latest k8s_deploy's pods are selected. It returns k8s_config.
func (c *converter) k8sPod(s *step) *fields {
	kc := c.stepConfig(s, "k8s_config")
	var target *step
	pod := s.f.take("k8s_resource_name")
	if p := kc.takeFirst("pod", "pod_name"); p != nil {
		if pod != nil {
			c.warnf(p.Line, s.name, "k8s_config.pod is ignored because k8s_resource_name names the pod")
		} else {
			pod = p
		}
	}
	sel := kc.takeFirst("pod_selector", "selector", "label_selector")
	switch {
	case pod != nil || sel != nil:
		if pod != nil {
			s.set("pod", c.value(s, pod))
		}
		if sel != nil {
			s.set("pod_selector", c.value(s, sel))
		}
	case c.lastDeploy != nil:
		target = c.lastDeploy
		s.set("pod_selector", refTokens(c.ref(s, target, "selector")))
	default:
		s.set("pod_selector", c.missing(s, "pod_selector", "string", "no pod or pod_selector given and no earlier k8s_deploy"))
	}
	c.k8sTarget(s, target)
	c.copyField(s, kc, "container", "container")
	return kc
}

func (c *converter) exec(s *step) {
	if !c.copyArgv(s, s.f, "command", "command") {
		s.set("command", c.missing(s, "command", "list(string)", "no command given"))
	}
}
