package docgen

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers/builtin"
)

// row is one documented name.
type row struct{ name, typ, text string }

// metaArguments are the arguments every step takes, handled by ansflow
// itself rather than by the step type.
var metaArguments = []row{
	{"depends_on", "list of step references", "Steps that must finish first, for ordering without a data reference: `depends_on = [docker_run.unit_tests]`; `module.NAME` waits for every step of a module. References in arguments already imply a dependency."},
	{"when", "bool", "Run the step only when true, e.g. `git.branch == \"main\"`. When false the step is skipped this run and whatever it created is left as it is; references to it see what its last run recorded, and a reference to an output of a step that has never run is an error (`try(exec.x.stdout, \"\")` gives a fallback). Known before apply: variables, locals and built-ins only."},
	{"for_each", "map or set(string)", "One instance per element, addressed `TYPE.NAME[\"KEY\"]`; inside the block `each.key` and `each.value`. Known before apply."},
	{"retry", "block", "A nested block with `attempts`, `delay` and `backoff`: `attempts` is the total number of tries (at least 1), `delay` the wait before the second try, `backoff` multiplies the delay after each try (at least 1)."},
	{"timeout", "duration", "Cancel the step when it runs longer: `\"300s\"`, `\"5m\"`, `\"1h30m\"`, or a number of seconds."},
	{"continue_on_error", "bool", "When the step fails, its dependents still run and the run carries on; the failure is recorded and accepted: the next plan does not run the step (or its dependents) again for having failed, only when its inputs or something upstream change, with `-replace`, or once `continue_on_error` is no longer true."},
	{"approval", "block", "`approval { approvers = [\"alice\"]  timeout = \"24h\" }`: apply stops before the step (exit code 3) until `ansflow approve ADDR`; the approval holds for the inputs the step had when it asked. `approvers` (default: anyone) and `timeout` (default: never expires) are known before apply. See [approvals](../approvals.md)."},
}

// builtins are the values every expression can refer to.
var builtins = []row{
	{"var.NAME", "", "The value of variable `NAME` (`-var`, `-var-file`, `*.auto.vars.hcl`, `ANSFLOW_VAR_NAME`, else its default)."},
	{"local.NAME", "", "A value from a `locals` block."},
	{"git.commit", "string", "Commit of the pipeline directory's repository; empty outside a repository."},
	{"git.short_commit", "string", "Abbreviated commit."},
	{"git.branch", "string", "Current branch; empty when detached."},
	{"git.tag", "string", "Tag pointing at the commit, if any."},
	{"git.dirty", "bool", "Whether the work tree has uncommitted changes."},
	{"run.number", "number", "Number of this apply in the workspace, counting up: the build number."},
	{"run.id", "string", "Unique ID of this run."},
	{"workspace", "string", "Name of the current workspace."},
	{"path.root", "string", "Absolute path of the pipeline directory."},
	{"path.module", "string", "Directory of the module the expression is in, relative to the pipeline directory (`modules/service`); `.` in the root pipeline. Relative paths in step arguments stay relative to the pipeline directory: write `\"${path.module}/Dockerfile\"` for a file of the module."},
	{"path.cwd", "string", "Absolute path of the working directory."},
	{"each.key, each.value", "", "In a step with `for_each`: the key and value of this instance."},
	{"TYPE.NAME.ATTR", "", "An argument or attribute of another step, e.g. `docker_build.app.ref`; makes this step depend on it."},
	{"module.NAME.OUTPUT", "", "An output of a module call; `module.NAME[\"KEY\"].OUTPUT` for a call with `for_each` (`module.NAME` alone is an object of its instances by key). Makes this step depend on the steps that output reads. See [modules](../modules.md)."},
	{"registry.NAME, cluster.NAME", "", "A registry or cluster block, for the `registry` and `cluster` arguments; their attributes as `registry.main.address`."},
	{"env(\"NAME\")", "function", "An environment variable of the ansflow process; empty when unset."},
	{"yamldecode_all(TEXT)", "function", "Every document of a YAML stream (documents separated by `---`, as most Kubernetes manifests are kept) as a tuple, empty documents left out: `yamldecode_all(file(\"app.yaml\"))`. `yamldecode` takes exactly one document."},
}

// blocks are the top-level blocks other than steps, with their attributes.
var blocks = []struct {
	header, text string
	attrs        []row
}{
	{"variable \"NAME\"", "An input of the pipeline, referred to as `var.NAME`.", []row{
		{"type", "type", "Type constraint, e.g. `string`, `number`, `list(string)`, `object({ ... })`. Default: any."},
		{"default", "any", "Value when none is given; without it the variable is required."},
		{"description", "string", "Shown in messages."},
		{"sensitive", "bool", "Hide the value in plans and output."},
		{"nullable", "bool", "Whether null is an acceptable value."},
		{"validation", "block", "`validation { condition = ..., error_message = \"...\" }`, repeatable; the condition may refer only to this variable."},
	}},
	{"locals", "Named values computed from variables and built-ins, referred to as `local.NAME`; they cannot refer to steps.", nil},
	{"output \"NAME\"", "A value shown after apply and by `ansflow output`.", []row{
		{"value", "any", "Required. May refer to steps."},
		{"description", "string", ""},
		{"sensitive", "bool", "Hide the value unless asked for by name."},
	}},
	{"docker", "How to reach the Docker Engine; optional (default: `DOCKER_HOST`, else the standard socket). At most one.", []row{
		{"host", "string", "Engine address, e.g. `unix:///var/run/docker.sock` or `tcp://host:2376`."},
		{"tls_verify", "bool", "Verify the engine's TLS certificate."},
		{"cert_path", "string", "Directory with `ca.pem`, `cert.pem`, `key.pem`."},
		{"api_version", "string", "Engine API version to use; default: negotiated."},
	}},
	{"registry \"NAME\"", "Credentials for pushing and pulling, used as `registry = registry.NAME`.", []row{
		{"address", "string", "Required. Registry host[:port], e.g. `registry.example.com`."},
		{"username", "string", ""},
		{"password", "string", "Use a sensitive variable."},
	}},
	{"cluster \"NAME\"", "A Kubernetes cluster, used as `cluster = cluster.NAME`; with exactly one cluster block, k8s steps use it by default.", []row{
		{"kubeconfig", "string", "Path of the kubeconfig file; default: `KUBECONFIG`, then `~/.kube/config`."},
		{"context", "string", "Context in the kubeconfig; default: its current context."},
		{"namespace", "string", "Default namespace of the k8s steps using this cluster."},
	}},
	{"notify \"NAME\"", "A webhook told about every apply and destroy whose result is in `on`; see [notifications](../notifications.md). A notification that fails is a warning, never a failed apply. Evaluated after the run: may refer to variables, locals and built-ins (`run.number`), not to steps.", []row{
		{"url", "string", "Required. `http://` or `https://` address of the webhook; use a sensitive variable when it holds a token."},
		{"on", "list(string)", "Events to report: `failure` (also interrupted runs), `success`, `approval` (the run stopped for an approval). Default: `[\"failure\"]`."},
		{"format", "string", "`json` (default: the run summary plus a `text` line), `slack` or `teams` (a `text` payload their incoming webhooks show)."},
		{"timeout", "duration", "Longest wait for the webhook's answer, per try. Default: `\"10s\"`."},
		{"retries", "number", "Tries after the first on network errors, timeouts, 429 and 5xx answers, with a growing pause. Default: 3."},
		{"link", "string", "A link sent with the summary, e.g. `\"https://ci.example.com/runs/${run.number}\"`; must not be sensitive."},
	}},
	{"module \"NAME\"", "Calls a module: a directory of `.hcl` files with its own variables, locals, steps, module calls and outputs. Its steps are addressed `module.NAME.TYPE.NAME`; see [modules](../modules.md). Connection blocks, `ansflow` and `notify` stay in the root pipeline.", []row{
		{"source", "string", "Required. `./DIR` or `../DIR`, relative to the directory of the calling module; any other source (`git::...`) must be installed by `ansflow init`."},
		{"VARIABLE", "any", "A value for each variable of the module, evaluated in the caller; required for variables without a default."},
		{"for_each", "map or set(string)", "One module instance per element, addressed `module.NAME[\"KEY\"]`; `each.key` and `each.value` in the arguments. Known before apply."},
		{"when", "bool", "When false every step inside is skipped, and whatever they created is left as it is. Known before apply."},
		{"depends_on", "list of step or module references", "Every step inside waits for these."},
	}},
	{"moved", "The record of a step (or of every step in a module) follows a rename, so nothing reruns or is replaced: the plan says `# docker_build.api has moved to module.api.docker_build.app` and apply records the new address; logs and history follow. From and to are addresses written without quotes. A block whose from has nothing in the state does nothing, so it may stay. Root pipeline only. See [moved blocks](../moved.md).", []row{
		{"from", "address", "Required. The old address: `exec.build`, `exec.test[\"lint\"]`, `module.api.docker_build.app`, or a module: `module.api`, `module.svc[\"a\"]`."},
		{"to", "address", "Required. The new address, of the same kind; a step keeps its type. A step or module with for_each keeps its keys unless to has a key."},
	}},
	{"ansflow", "Settings of ansflow itself. At most one.", []row{
		{"backend \"TYPE\"", "block", "Where state is kept, e.g. `backend \"kubernetes\" { ... }` for state shared through the cluster; default: the local store in `.ansflow/state`."},
	}},
}

// index is docs/reference/README.md.
func index() []byte {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString(`# ansflow language reference

A pipeline is a directory of ` + "`*.hcl`" + ` files (not dotfiles, not ` + "`*.vars.hcl`" + `), read in name
order. It holds step blocks, one per thing to build, run or deploy, and the
blocks below that feed them.

`)
	b.WriteString("```hcl\n" + Example + "```\n\n")

	b.WriteString("## Step types\n\n| Type | Kind | Does |\n|---|---|---|\n")
	schemas := builtin.Schemas()
	for _, t := range schemas.Names() {
		s := schemas.Lookup(t)
		fmt.Fprintf(&b, "| [`%s`](steps/%s.md) | %s | %s |\n", t, t, s.Kind, cell(firstSentence(s.Description)))
	}
	b.WriteString("\nDeclarative steps converge an object (create, update, replace, delete); run-to-completion steps run when their inputs or anything upstream changed, or when they failed last time (unless `continue_on_error` accepted the failure).\n\n")

	b.WriteString("## Meta-arguments\n\nEvery step block takes these besides its own arguments.\n\n")
	writeRows(&b, metaArguments)

	b.WriteString("## Built-in values and functions\n\n")
	writeRows(&b, builtins)
	fmt.Fprintf(&b, "Functions: %s.\n\n", strings.Join(functionNames(), ", "))

	b.WriteString("## Blocks\n\n")
	for _, blk := range blocks {
		fmt.Fprintf(&b, "### `%s`\n\n%s\n\n", blk.header, blk.text)
		if len(blk.attrs) > 0 {
			writeRows(&b, blk.attrs)
		}
	}
	return b.Bytes()
}

func writeRows(b *bytes.Buffer, rows []row) {
	b.WriteString("| Name | Type | Description |\n|---|---|---|\n")
	for _, r := range rows {
		typ := ""
		if r.typ != "" {
			typ = "`" + r.typ + "`"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", r.name, typ, cell(r.text))
	}
	b.WriteString("\n")
}

// functionNames lists the functions usable in expressions, as name().
func functionNames() []string {
	names := []string{"env"}
	for n := range config.Functions("") {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		names[i] = "`" + n + "()`"
	}
	return names
}

// firstSentence is s up to and including its first ". ".
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// Example is the pipeline shown at the top of the reference; a test loads it
// with config.Load, so it uses only what ansflow accepts.
const Example = `variable "build_number" {
  type    = string
  default = "dev"
}

registry "main" {
  address  = "127.0.0.1:5000"
  username = "ci"
  password = var.registry_password
}

variable "registry_password" {
  type      = string
  sensitive = true
  default   = ""
}

cluster "dev" {
  namespace = "development"
}

docker_build "app" {
  image      = "my-app"
  tag        = var.build_number
  build_args = { VERSION = git.commit }
}

docker_run "unit_tests" {
  image   = docker_build.app.ref
  command = ["/app", "test"]
  retry {
    attempts = 3
    delay    = "2s"
  }
}

docker_push "app" {
  image      = docker_build.app.ref
  registry   = registry.main
  depends_on = [docker_run.unit_tests]
}

k8s_deploy "app" {
  name     = "my-app"
  image    = docker_push.app.ref
  replicas = 2
  ports    = [{ container_port = 8080 }]
}

k8s_wait "app" {
  kind      = "deployment"
  name      = k8s_deploy.app.name
  condition = "available"
  timeout   = "300s"
}

k8s_scale "prod" {
  when     = git.branch == "main"
  name     = k8s_deploy.app.name
  replicas = 5
}

output "image" {
  value = docker_push.app.ref
}
`
