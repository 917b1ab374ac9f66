package config

import (
	"sort"

	"github.com/zclconf/go-cty/cty"
)

// StepKind says how a step type behaves across runs.
type StepKind int

const (
	// RunToCompletion steps (exec, docker_run, k8s_exec, ...) run when their
	// inputs or anything upstream changed, or when they failed last time.
	RunToCompletion StepKind = iota
	// Declarative steps (docker_build, k8s_deploy, ...) converge an object to
	// the configured inputs: create, update in place, replace or delete.
	Declarative
)

func (k StepKind) String() string {
	if k == Declarative {
		return "declarative"
	}
	return "run-to-completion"
}

// AttrSchema describes one attribute of a step: an input the user sets or an
// output the step produces.
type AttrSchema struct {
	Name        string
	Type        cty.Type
	Required    bool
	Sensitive   bool
	ForceNew    bool      // for declarative steps: a change replaces the object
	Default     cty.Value // cty.NilVal when there is none
	Description string
}

// StepSchema is the contract of one step type: what it accepts and produces.
type StepSchema struct {
	Type        string
	Kind        StepKind
	Description string
	Inputs      []AttrSchema
	Outputs     []AttrSchema
}

// Input returns the input attribute called name, or nil.
func (s *StepSchema) Input(name string) *AttrSchema {
	for i := range s.Inputs {
		if s.Inputs[i].Name == name {
			return &s.Inputs[i]
		}
	}
	return nil
}

// Output returns the output attribute called name, or nil.
func (s *StepSchema) Output(name string) *AttrSchema {
	for i := range s.Outputs {
		if s.Outputs[i].Name == name {
			return &s.Outputs[i]
		}
	}
	return nil
}

// InputType is the object type of the evaluated inputs.
func (s *StepSchema) InputType() cty.Type {
	m := make(map[string]cty.Type, len(s.Inputs))
	for _, a := range s.Inputs {
		m[a.Name] = a.Type
	}
	return cty.Object(m)
}

// OutputType is the object type of the outputs a provider returns.
func (s *StepSchema) OutputType() cty.Type {
	m := make(map[string]cty.Type, len(s.Outputs))
	for _, a := range s.Outputs {
		m[a.Name] = a.Type
	}
	return cty.Object(m)
}

// AttributeNames lists every name a reference may use: inputs and outputs.
func (s *StepSchema) AttributeNames() []string {
	seen := map[string]bool{}
	var names []string
	for _, a := range append(append([]AttrSchema(nil), s.Inputs...), s.Outputs...) {
		if !seen[a.Name] {
			seen[a.Name] = true
			names = append(names, a.Name)
		}
	}
	sort.Strings(names)
	return names
}

// StepTypeNames lists the step block types in a stable order.
func StepTypeNames() []string {
	names := make([]string, 0, len(stepSchemas))
	for n := range stepSchemas {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupStepSchema returns the schema of step type t, or nil.
func LookupStepSchema(t string) *StepSchema { return stepSchemas[t] }

var (
	strList = cty.List(cty.String)
	strMap  = cty.Map(cty.String)

	portType = cty.ObjectWithOptionalAttrs(map[string]cty.Type{
		"container_port": cty.Number,
		"name":           cty.String,
		"protocol":       cty.String,
	}, []string{"name", "protocol"})
	resourcesType = cty.ObjectWithOptionalAttrs(map[string]cty.Type{
		"requests": strMap,
		"limits":   strMap,
	}, []string{"requests", "limits"})
	serviceType = cty.ObjectWithOptionalAttrs(map[string]cty.Type{
		"type":        cty.String,
		"port":        cty.Number,
		"target_port": cty.Number,
	}, []string{"type", "target_port"})
)

func in(name string, t cty.Type, desc string) AttrSchema {
	return AttrSchema{Name: name, Type: t, Description: desc}
}

func req(a AttrSchema) AttrSchema      { a.Required = true; return a }
func forceNew(a AttrSchema) AttrSchema { a.ForceNew = true; return a }

// sensitive marks an input whose value is always handled as a secret,
// whatever it was computed from.
func sensitive(a AttrSchema) AttrSchema { a.Sensitive = true; return a }
func def(a AttrSchema, v cty.Value) AttrSchema {
	a.Default = v
	return a
}

// Attributes shared by the Kubernetes step types.
var (
	k8sCluster   = in("cluster", cty.DynamicPseudoType, "The `cluster` block to talk to (e.g. `cluster.dev`). Defaults to the only cluster block, else the kubeconfig's current context.")
	k8sNamespace = in("namespace", cty.String, "Namespace of the object. Defaults to the cluster block's namespace, else the kubeconfig context's, else `default`.")
	k8sKind      = in("kind", cty.String, "Kind of object, kubectl style: `deployment`, `deploy`, `statefulset`, `job`, `pod`, `service`, `configmap`, ...; resolved through API discovery.")
	k8sPod       = in("pod", cty.String, "Name of the pod. Either `pod` or `pod_selector` is required.")
	k8sPodSel    = in("pod_selector", cty.String, "Label selector (`app=my-app`) choosing a ready pod.")
	k8sContainer = in("container", cty.String, "Container in the pod. Defaults to the pod's first container.")
)

var stepSchemas = map[string]*StepSchema{
	"exec": {
		Type: "exec", Kind: RunToCompletion,
		Description: "Runs a local command to completion. The command is an argv list; no shell is involved unless you write `[\"sh\", \"-c\", ...]`.",
		Inputs: []AttrSchema{
			req(in("command", strList, "Program and arguments to run.")),
			in("env", strMap, "Extra environment variables, added to ansflow's own environment."),
			in("workdir", cty.String, "Working directory, relative to the pipeline directory. Defaults to the pipeline directory."),
			def(in("expect_exit_code", cty.Number, "Exit code that counts as success."), cty.NumberIntVal(0)),
			in("sources", strList, "Files the command reads, as paths or glob patterns relative to the pipeline directory (`[\"src/*.go\", \"go.mod\"]`); a directory stands for everything in it. A change to their contents makes the step run again."),
		},
		Outputs: []AttrSchema{
			in("exit_code", cty.Number, "Exit code of the command."),
			in("stdout", cty.String, "Standard output (capped at 1 MiB; the full text is in the step's log)."),
			in("stderr", cty.String, "Standard error (capped at 1 MiB; the full text is in the step's log)."),
		},
	},
	"docker_build": {
		Type: "docker_build", Kind: Declarative,
		Description: "Builds an image from a context directory, on the engine's BuildKit by default (see docs/docker-build.md). An unchanged context (paths, contents and executable bits, honouring `.dockerignore`, or `<Dockerfile>.dockerignore` with BuildKit) and unchanged inputs mean no build at all.",
		Inputs: []AttrSchema{
			req(in("image", cty.String, "Repository name of the image, e.g. `my-app`.")),
			def(in("tag", cty.String, "Tag of the image."), cty.StringVal("latest")),
			in("tags", strList, "Further tags (`name:tag` or bare tags) to apply to the built image."),
			def(in("context", cty.String, "Build context directory, relative to the pipeline directory."), cty.StringVal(".")),
			def(in("dockerfile", cty.String, "Dockerfile path, relative to the context."), cty.StringVal("Dockerfile")),
			in("build_args", strMap, "Build-time variables (`ARG`)."),
			in("target", cty.String, "Target stage of a multi-stage build."),
			in("labels", strMap, "Labels to set on the image."),
			def(in("no_cache", cty.Bool, "Do not use the build cache."), cty.False),
			def(in("builder", cty.String, "`buildkit` (the engine's BuildKit: `RUN --mount`, `COPY --chmod`, secrets, incremental context sync) or `legacy` (the classic builder, which re-sends the whole context). An engine without BuildKit (Engine API before 1.39) uses the legacy builder."), cty.StringVal("buildkit")),
			sensitive(in("secrets", strMap, "Build secrets by id, for `RUN --mount=type=secret,id=ID`; values come from sensitive variables or `file(...)`. They are never stored in the image, the state, plan files or logs.")),
			in("ssh", strList, "SSH agents to forward for `RUN --mount=type=ssh`: `default` (the agent at `SSH_AUTH_SOCK`) or `ID=PATH` (an agent socket or key file)."),
			in("cache_from", strList, "External caches to use: image references (registry cache, including inline cache in pushed images) or buildx's `type=registry,ref=IMAGE` form."),
			in("cache_to", strList, "Caches to export: `type=inline` (cache metadata in the image, pushed with it by docker_push); other types (`type=registry,ref=...`) need an engine with the containerd image store and fail with an explanation otherwise."),
			in("platforms", strList, "Target platforms (`linux/amd64`); more than one needs an engine with the containerd image store."),
			in("build_contexts", strMap, "Named contexts for `FROM`/`COPY --from=NAME`: a directory (relative to the pipeline directory), `docker-image://IMAGE`, `target:STAGE` or a URL."),
			in("network", cty.String, "Network for `RUN` instructions: `default` (the engine's bridge, or `none` when the engine has no bridge network), `none` or `host`."),
			def(in("pull", cty.Bool, "Always ask the registry for newer base images."), cty.False),
		},
		Outputs: []AttrSchema{
			in("image_id", cty.String, "Image ID (`sha256:...`)."),
			in("ref", cty.String, "Image reference `image:tag`."),
			in("context_hash", cty.String, "Content hash of the build context."),
		},
	},
	"docker_run": {
		Type: "docker_run", Kind: RunToCompletion,
		Description: "Runs a container to completion; its exit code decides success. With `detach = true` it keeps a named container running as a declarative resource.",
		Inputs: []AttrSchema{
			req(in("image", cty.String, "Image to run (a reference such as `docker_build.app.ref`).")),
			in("name", cty.String, "Container name. Defaults to one derived from the step address."),
			in("command", strList, "Command (argv) passed to the image's entrypoint."),
			in("entrypoint", strList, "Overrides the image's entrypoint."),
			in("env", strMap, "Environment variables."),
			in("workdir", cty.String, "Working directory inside the container."),
			in("volumes", strList, "Bind mounts in docker's `-v` form: `/host:/container[:ro]`."),
			in("network", cty.String, "Network mode (`none`, `host`, or a network name)."),
			in("user", cty.String, "User (`uid[:gid]` or name) to run as."),
			def(in("remove", cty.Bool, "Remove the container when it has finished."), cty.True),
			def(in("detach", cty.Bool, "Keep the container running as a declarative resource."), cty.False),
			def(in("expect_exit_code", cty.Number, "Exit code that counts as success."), cty.NumberIntVal(0)),
		},
		Outputs: []AttrSchema{
			in("exit_code", cty.Number, "Exit code of the container."),
			in("container_id", cty.String, "ID of the container."),
			in("stdout", cty.String, "Standard output (capped at 1 MiB)."),
			in("stderr", cty.String, "Standard error (capped at 1 MiB)."),
		},
	},
	"docker_push": {
		Type: "docker_push", Kind: Declarative,
		Description: "Pushes an image to a registry. Re-pushes only when the image changed or the registry lost the digest.",
		Inputs: []AttrSchema{
			req(in("image", cty.String, "Local image to push (e.g. `docker_build.app.ref`).")),
			in("registry", cty.DynamicPseudoType, "A `registry` block (e.g. `registry.main`) or a registry address string."),
			in("repository", cty.String, "Repository in the registry. Defaults to the image's repository name."),
			in("tags", strList, "Tags to push. Defaults to the image's tag."),
		},
		Outputs: []AttrSchema{
			in("digest", cty.String, "Digest of the pushed manifest (`sha256:...`)."),
			in("ref", cty.String, "Pinned reference `address/repository@sha256:...`."),
		},
	},
	"docker_pull": {
		Type: "docker_pull", Kind: Declarative,
		Description: "Pulls an image. With refresh, a tag that moved to a new digest shows in the plan.",
		Inputs: []AttrSchema{
			req(in("image", cty.String, "Image reference to pull (`repo:tag` or `repo@sha256:...`).")),
			in("registry", cty.DynamicPseudoType, "A `registry` block for credentials, or an address string."),
			in("platform", cty.String, "Platform, e.g. `linux/amd64`."),
			def(in("policy", cty.String, "`if_not_present` or `always`."), cty.StringVal("if_not_present")),
		},
		Outputs: []AttrSchema{
			in("image_id", cty.String, "Local image ID."),
			in("digest", cty.String, "Repository digest (`sha256:...`)."),
			in("ref", cty.String, "Pinned reference `repository@sha256:...`."),
		},
	},
	"k8s_deploy": {
		Type: "k8s_deploy", Kind: Declarative,
		Description: "Creates or updates a Deployment (and optional Service) by server-side apply under field manager `ansflow`, or applies the objects of a `manifest`, `manifest_files` or a `kustomize` directory (exactly one), Namespaces and CRDs first. Objects it applied before that are no longer given are deleted (pruned); objects it did not create are never deleted. Waits until every object is ready unless `wait = false`.",
		Inputs: []AttrSchema{
			k8sCluster,
			forceNew(k8sNamespace),
			forceNew(in("name", cty.String, "Name of the Deployment; also the container name and the `app` label. Required for the compact form.")),
			in("image", cty.String, "Container image."),
			in("replicas", cty.Number, "Desired replicas. Leave unset to let an HPA or a `k8s_scale` step own the field."),
			in("ports", cty.List(portType), "Container ports: `[{ container_port = 8080 }]`."),
			in("env", strMap, "Container environment variables."),
			in("labels", strMap, "Extra labels for the Deployment and its pods."),
			in("command", strList, "Container entrypoint (argv)."),
			in("args", strList, "Container arguments."),
			in("resources", resourcesType, "`{ requests = {cpu = \"100m\"}, limits = {memory = \"128Mi\"} }`."),
			in("service", serviceType, "Also apply a Service: `{ port = 80, target_port = 8080, type = \"ClusterIP\" }`."),
			in("manifest", cty.DynamicPseudoType, "Objects to apply instead of the compact form: one object, a list of objects, or YAML/JSON text with documents separated by `---`, e.g. `file(\"app.yaml\")` or `yamldecode_all(file(\"app.yaml\"))`."),
			in("manifest_files", strList, "Files of objects to apply instead of the compact form: globs relative to the pipeline directory (`[\"k8s/*.yaml\"]`), read in order, each file's documents in file order. Their contents are part of the fingerprint."),
			in("kustomize", cty.String, "A kustomization directory, relative to the pipeline directory (`\"overlays/prod\"`), built in-process as `kustomize build` does; its output is applied. The files it reads are part of the fingerprint."),
			def(in("wait", cty.Bool, "Wait until every object is ready: Deployments rolled out, other kinds Current by the kstatus convention."), cty.True),
		},
		Outputs: []AttrSchema{
			in("name", cty.String, "Name of the Deployment; with manifest, manifest_files or kustomize, of the first Deployment applied, else of the first object."),
			in("namespace", cty.String, "Namespace it lives in."),
			in("uid", cty.String, "UID of the object."),
			in("generation", cty.Number, "metadata.generation after the apply."),
			in("selector", cty.String, "Pod label selector of the Deployment (`app=my-app`)."),
		},
	},
	"helm_release": {
		Type: "helm_release", Kind: Declarative,
		Description: "Installs or upgrades a Helm release (`helm upgrade --install`) from a chart directory, a packaged `.tgz` or an `oci://` reference, through the Helm SDK. The release history stays Helm's (secrets storage), so `helm history` and `helm rollback` work on it. The plan shows the field-level change of the rendered objects (a dry-run upgrade) and drift from `helm upgrade` run by hand or objects edited by hand; destroy uninstalls. The `timeout` meta-argument also bounds Helm's wait (default 5m).",
		Inputs: []AttrSchema{
			k8sCluster,
			forceNew(in("namespace", cty.String, "Namespace of the release. Defaults to the cluster block's namespace, else the kubeconfig context's, else `default`.")),
			forceNew(req(in("name", cty.String, "Name of the release."))),
			req(in("chart", cty.String, "The chart: a directory or a packaged `.tgz` (relative to the pipeline directory), or an OCI reference `oci://host/path/chart` (tag from `version` or the reference).")),
			in("version", cty.String, "Chart version. For an OCI chart the tag to pull (unless the reference has one); for a directory or `.tgz`, the version its Chart.yaml must have."),
			in("values", cty.DynamicPseudoType, "Values as an HCL object, merged over `values_files` (like `--set-json`)."),
			in("values_files", strList, "Values files (YAML), relative to the pipeline directory, merged in order (like `-f`). Their contents are part of the fingerprint."),
			in("registry", cty.DynamicPseudoType, "A `registry` block with the credentials for an `oci://` chart. Loopback registries (127.0.0.1, localhost) are reached over plain HTTP."),
			def(in("create_namespace", cty.Bool, "Create the namespace on install when it does not exist."), cty.False),
			def(in("wait", cty.Bool, "Wait until every object of the release is ready (kstatus), failing fast when a pod crash-loops or cannot pull its image."), cty.True),
			def(in("atomic", cty.Bool, "On failure, roll the release back to its last good revision (uninstall it if this was the first install)."), cty.False),
		},
		Outputs: []AttrSchema{
			in("name", cty.String, "Name of the release."),
			in("namespace", cty.String, "Namespace of the release."),
			in("revision", cty.Number, "Revision of the release after the apply (as `helm history` shows it)."),
			in("status", cty.String, "Status of the release: `deployed`, `failed`, ..."),
			in("chart_version", cty.String, "Version of the chart that was installed."),
			in("objects", strList, "`kind/name` of each object of the rendered manifest, e.g. `[\"deployment/app\", \"service/app\"]`."),
		},
	},
	"k8s_scale": {
		Type: "k8s_scale", Kind: Declarative,
		Description: "Sets replicas on a deployment or statefulset through the scale subresource and waits until the ready replicas match.",
		Inputs: []AttrSchema{
			k8sCluster, k8sNamespace,
			def(in("kind", cty.String, "`deployment` or `statefulset` (kubectl names accepted)."), cty.StringVal("deployment")),
			req(in("name", cty.String, "Name of the object to scale.")),
			req(in("replicas", cty.Number, "Desired replicas.")),
			def(in("wait", cty.Bool, "Wait until ready replicas match."), cty.True),
		},
		Outputs: []AttrSchema{
			in("replicas", cty.Number, "Replicas after scaling."),
		},
	},
	"k8s_delete": {
		Type: "k8s_delete", Kind: RunToCompletion,
		Description: "Deletes named or selected objects and waits until they are gone. Nothing to delete is success.",
		Inputs: []AttrSchema{
			k8sCluster, k8sNamespace,
			req(k8sKind),
			in("name", cty.String, "Name of the object. Either `name` or `selector` is required."),
			in("selector", cty.String, "Label selector choosing the objects."),
			def(in("propagation", cty.String, "`background`, `foreground` or `orphan`."), cty.StringVal("background")),
		},
		Outputs: []AttrSchema{
			in("deleted", strList, "`kind/name` of each deleted object."),
		},
	},
	"k8s_wait": {
		Type: "k8s_wait", Kind: RunToCompletion,
		Description: "Waits, by watching, for a condition: `available`, `ready`, `complete`, `rollout`, `deleted`, or any status condition type. An object that does not exist yet is waited for. Use the `timeout` meta-argument to bound it.",
		Inputs: []AttrSchema{
			k8sCluster, k8sNamespace,
			req(k8sKind),
			in("name", cty.String, "Name of the object. Either `name` or `selector` is required."),
			in("selector", cty.String, "Label selector; every selected object must meet the condition."),
			req(in("condition", cty.String, "`available`, `ready`, `complete`, `rollout`, `deleted`, or a status condition type such as `Progressing`. `ready` reads pods and nodes by their Ready condition, Deployments and ReplicaSets by ready replicas, and every other kind (StatefulSets, DaemonSets, Jobs, PVCs, custom resources) by the kstatus convention.")),
		},
		Outputs: []AttrSchema{
			in("observed", cty.String, "What was observed when the condition was met."),
		},
	},
	"k8s_exec": {
		Type: "k8s_exec", Kind: RunToCompletion,
		Description: "Runs a command in a ready pod's container through the API server's exec subresource.",
		Inputs: []AttrSchema{
			k8sCluster, k8sNamespace, k8sPod, k8sPodSel, k8sContainer,
			req(in("command", strList, "Program and arguments (argv).")),
			def(in("expect_exit_code", cty.Number, "Exit code that counts as success."), cty.NumberIntVal(0)),
		},
		Outputs: []AttrSchema{
			in("exit_code", cty.Number, "Exit code of the command."),
			in("stdout", cty.String, "Standard output (capped at 1 MiB)."),
			in("stderr", cty.String, "Standard error (capped at 1 MiB)."),
		},
	},
	"k8s_logs": {
		Type: "k8s_logs", Kind: RunToCompletion,
		Description: "Fetches the logs of a pod's container into the step's log and the `logs` output.",
		Inputs: []AttrSchema{
			k8sCluster, k8sNamespace, k8sPod, k8sPodSel, k8sContainer,
			in("tail_lines", cty.Number, "Only the last N lines."),
			in("since", cty.String, "Only lines newer than this duration, e.g. `10m`."),
		},
		Outputs: []AttrSchema{
			in("logs", cty.String, "The log text (capped at 1 MiB)."),
			in("path", cty.String, "Path of the stored log file."),
		},
	},
}
