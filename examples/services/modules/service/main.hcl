# Build, check, push, deploy and wait: the five steps every service runs.

docker_build "image" {
  image      = var.name
  tag        = var.tag
  context    = var.context
  build_args = { SERVICE = var.name }
}

docker_run "test" {
  image   = docker_build.image.ref
  command = ["test"]
  remove  = true
}

docker_push "image" {
  image      = docker_build.image.ref
  registry   = var.registry
  depends_on = [docker_run.test]
}

k8s_deploy "app" {
  cluster  = var.cluster
  name     = var.name
  image    = docker_push.image.ref
  replicas = var.replicas
  ports    = [{ container_port = var.port }]
  env      = { PORT = tostring(var.port) }
}

k8s_wait "app" {
  cluster   = var.cluster
  kind      = "deployment"
  name      = k8s_deploy.app.name
  condition = "available"
  timeout   = "300s"
}
