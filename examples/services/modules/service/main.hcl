# One service: build its image, run its tests in a container, push it, deploy
# it and wait until it is available. Connections (registry.local,
# cluster.local) are the root pipeline's.

variable "name" {
  type = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.name))
    error_message = "A service name is lower-case letters, digits and dashes, as Kubernetes names are."
  }
}

variable "port" {
  type = number
}

variable "version" {
  type    = string
  default = "dev"
}

variable "namespace" {
  type = string
}

locals {
  image = "ansflow-services-${var.name}"
}

docker_build "app" {
  image      = local.image
  tag        = var.version
  context    = "."
  dockerfile = "${path.module}/Dockerfile"
  build_args = { VERSION = var.version, SERVICE = var.name }
}

docker_run "test" {
  image   = docker_build.app.ref
  command = ["test"]
  remove  = true
}

docker_push "app" {
  image      = docker_build.app.ref
  registry   = registry.local
  repository = "examples/${local.image}"
  depends_on = [docker_run.test]
}

k8s_deploy "app" {
  cluster   = cluster.local
  namespace = var.namespace
  name      = var.name
  image     = docker_push.app.ref
  replicas  = 1
  ports     = [{ container_port = var.port }]
  env       = { VERSION = var.version, SERVICE = var.name }
}

k8s_wait "app" {
  cluster   = cluster.local
  namespace = k8s_deploy.app.namespace
  kind      = "deployment"
  name      = k8s_deploy.app.name
  condition = "available"
  timeout   = "120s"
}

output "image" {
  value = docker_push.app.ref
}
