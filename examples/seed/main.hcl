# The seed pipeline: AnsFlow's "Full Stack Deployment Pipeline" (docs/seed.md)
# as an ansflow pipeline. Build an image, run its unit tests in a container,
# push it, deploy 2 replicas, wait until available, run integration checks in
# a pod, and scale to 5 on the main branch.
#
#   ansflow -chdir=examples/seed apply -var build_number=42
#
# Needs a Docker Engine, a registry on 127.0.0.1:5000 and a cluster
# (hack/docker-up.sh and hack/testenv/up.sh start them; `make demo` does all).

variable "build_number" {
  type        = string
  default     = "dev"
  description = "Build number, tagged on the image and set as VERSION in the deployment."
}

variable "registry_password" {
  type      = string
  sensitive = true
  default   = ""
}

variable "integration_command" {
  type        = list(string)
  default     = ["/app", "integration"]
  description = "What k8s_exec runs in a pod of the deployment."
}

variable "production_branch" {
  type    = string
  default = "main"
}

locals {
  app = "my-app"
}

registry "local" {
  address  = "127.0.0.1:5000"
  username = "ci"
  password = var.registry_password
}

cluster "dev" {
  namespace = "default"
}

# Not a seed step: compiles the static binary the image ships.
exec "compile" {
  command = ["go", "build", "-trimpath", "-buildvcs=false", "-o", "app/bin/app", "./app"]
  env     = { CGO_ENABLED = "0" }
  sources = ["app/*.go"]
}

docker_build "app" {
  image      = local.app
  tag        = var.build_number
  context    = "app"
  build_args = { NODE_ENV = "production", VERSION = git.commit }
  depends_on = [exec.compile]
}

docker_run "unit_tests" {
  image   = docker_build.app.ref
  command = ["test"]
  env     = { CI = "true" }
  remove  = true
  retry {
    attempts = 2
    delay    = "2s"
  }
}

docker_push "app" {
  image      = docker_build.app.ref
  registry   = registry.local
  depends_on = [docker_run.unit_tests]
}

k8s_deploy "app" {
  cluster  = cluster.dev
  name     = local.app
  image    = docker_push.app.ref
  replicas = 2
  ports    = [{ container_port = 8080 }]
  env      = { NODE_ENV = "production", VERSION = var.build_number }
}

k8s_wait "app" {
  cluster   = cluster.dev
  kind      = "deployment"
  name      = k8s_deploy.app.name
  condition = "available"
  timeout   = "300s"
}

k8s_exec "integration" {
  cluster      = cluster.dev
  pod_selector = k8s_deploy.app.selector
  container    = local.app
  command      = var.integration_command
  depends_on   = [k8s_wait.app]
}

k8s_scale "prod" {
  when       = git.branch == var.production_branch
  cluster    = cluster.dev
  kind       = "deployment"
  name       = k8s_deploy.app.name
  replicas   = 5
  depends_on = [k8s_exec.integration]
}

output "image" {
  value = docker_push.app.ref
}

output "deployment" {
  value = "${k8s_deploy.app.namespace}/${k8s_deploy.app.name}"
}
