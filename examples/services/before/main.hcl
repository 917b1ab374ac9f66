# The services pipeline as it was before modules: the same five steps
# copied out for each of the three services. It is kept to show the
# refactoring: applied as examples/services/main.hcl (the test in
# cmd/examples_test.go does exactly that), then replaced by the module form
# and moved.hcl, the next apply runs nothing. It is not a pipeline of its own:
# its paths are relative to examples/services.

variable "build_number" {
  type    = string
  default = "dev"
}

registry "local" {
  address = "127.0.0.1:5000"
}

cluster "dev" {
  namespace = "default"
}

exec "compile" {
  command = ["go", "build", "-trimpath", "-buildvcs=false", "-o", "app/bin/svc", "app/main.go"]
  env     = { CGO_ENABLED = "0" }
  sources = ["app/*.go"]
}

# --- api ---

docker_build "api" {
  image      = "api"
  tag        = var.build_number
  context    = "app"
  build_args = { SERVICE = "api" }
  depends_on = [exec.compile]
}

docker_run "api" {
  image   = docker_build.api.ref
  command = ["test"]
  remove  = true
}

docker_push "api" {
  image      = docker_build.api.ref
  registry   = registry.local
  depends_on = [docker_run.api]
}

k8s_deploy "api" {
  cluster  = cluster.dev
  name     = "api"
  image    = docker_push.api.ref
  replicas = 2
  ports    = [{ container_port = 8080 }]
  env      = { PORT = "8080" }
}

k8s_wait "api" {
  cluster   = cluster.dev
  kind      = "deployment"
  name      = k8s_deploy.api.name
  condition = "available"
  timeout   = "300s"
}

# --- web ---

docker_build "web" {
  image      = "web"
  tag        = var.build_number
  context    = "app"
  build_args = { SERVICE = "web" }
  depends_on = [exec.compile]
}

docker_run "web" {
  image   = docker_build.web.ref
  command = ["test"]
  remove  = true
}

docker_push "web" {
  image      = docker_build.web.ref
  registry   = registry.local
  depends_on = [docker_run.web]
}

k8s_deploy "web" {
  cluster  = cluster.dev
  name     = "web"
  image    = docker_push.web.ref
  replicas = 1
  ports    = [{ container_port = 8081 }]
  env      = { PORT = "8081" }
}

k8s_wait "web" {
  cluster   = cluster.dev
  kind      = "deployment"
  name      = k8s_deploy.web.name
  condition = "available"
  timeout   = "300s"
}

# --- worker ---

docker_build "worker" {
  image      = "worker"
  tag        = var.build_number
  context    = "app"
  build_args = { SERVICE = "worker" }
  depends_on = [exec.compile]
}

docker_run "worker" {
  image   = docker_build.worker.ref
  command = ["test"]
  remove  = true
}

docker_push "worker" {
  image      = docker_build.worker.ref
  registry   = registry.local
  depends_on = [docker_run.worker]
}

k8s_deploy "worker" {
  cluster  = cluster.dev
  name     = "worker"
  image    = docker_push.worker.ref
  replicas = 1
  ports    = [{ container_port = 8082 }]
  env      = { PORT = "8082" }
}

k8s_wait "worker" {
  cluster   = cluster.dev
  kind      = "deployment"
  name      = k8s_deploy.worker.name
  condition = "available"
  timeout   = "300s"
}
