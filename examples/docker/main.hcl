# Build a static Go binary, package it in an image FROM scratch, run its
# tests in a container, push it to the local registry and pull it back by
# digest. Start the engine and registry first: hack/docker-up.sh

variable "build_number" {
  type    = string
  default = "dev"
}

# A build secret, mounted by RUN --mount=type=secret,id=build_token.
variable "build_token" {
  type      = string
  sensitive = true
  default   = "example-token"
}

locals {
  app = "ansflow-example"
}

registry "local" {
  address = "127.0.0.1:5000"
}

exec "compile" {
  command = ["go", "build", "-trimpath", "-buildvcs=false", "-o", "app/bin/app", "./app"]
  env     = { CGO_ENABLED = "0" }
  sources = ["app/*.go"]
}

docker_build "app" {
  image      = local.app
  tag        = var.build_number
  context    = "."
  build_args = { VERSION = var.build_number }
  labels     = { "org.opencontainers.image.source" = "examples/docker" }
  target     = "app"
  secrets    = { build_token = var.build_token }
  cache_to   = ["type=inline"] # the pushed image carries its build cache
  depends_on = [exec.compile]
}

docker_run "unit_tests" {
  image   = docker_build.app.ref
  command = ["test"]
  env     = { CI = "true" }
  remove  = true
}

docker_push "app" {
  image      = docker_build.app.ref
  registry   = registry.local
  repository = "examples/${local.app}"
  depends_on = [docker_run.unit_tests]
}

docker_pull "app" {
  image  = docker_push.app.ref
  policy = "if_not_present"
}

docker_run "smoke" {
  image = docker_pull.app.ref
}

output "image" {
  value = docker_push.app.ref
}
