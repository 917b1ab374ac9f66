variable "build_number" {
  type    = string
  default = "dev"
}
variable "registry_password" {
  type      = string
  sensitive = true
  default   = ""
}

locals { app = "my-app" }

docker { host = "unix:///var/run/docker.sock" }

registry "main" {
  address  = "127.0.0.1:5000"
  username = "ci"
  password = var.registry_password
}

cluster "dev" {
  kubeconfig = "~/.kube/config"
  context    = "dev"
  namespace  = "development"
}

docker_build "app" {
  image      = local.app
  tag        = var.build_number
  context    = "."
  dockerfile = "Dockerfile"
  build_args = { NODE_ENV = "production", VERSION = git.commit }
}

docker_run "unit_tests" {
  image   = docker_build.app.ref
  command = ["/app", "test"]
  env     = { CI = "true" }
  remove  = true
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
  cluster  = cluster.dev
  name     = "my-app"
  image    = docker_push.app.ref
  replicas = 2
  ports    = [{ container_port = 8080 }]
  env      = { VERSION = var.build_number }
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
  pod_selector = "app=my-app"
  container    = "my-app"
  command      = ["/app", "integration"]
  depends_on   = [k8s_wait.app]
}

k8s_scale "prod" {
  when     = git.branch == "main"
  cluster  = cluster.dev
  kind     = "deployment"
  name     = k8s_deploy.app.name
  replicas = 5
}

output "image" { value = docker_push.app.ref }
