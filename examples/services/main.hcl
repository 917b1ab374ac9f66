# Three services, one module: each is built, checked, pushed, deployed and
# waited on by modules/service. Compare before/main.hcl, the same pipeline
# with the five steps copied out for every service; the moved blocks at the
# end let a workspace applied from that form move here without rerunning a
# single step (see README.md).
#
#   ansflow -chdir=examples/services apply -var build_number=42

variable "build_number" {
  type    = string
  default = "dev"
}

variable "services" {
  type = map(object({ port = number, replicas = number }))
  default = {
    api    = { port = 8080, replicas = 2 }
    web    = { port = 8081, replicas = 1 }
    worker = { port = 8082, replicas = 1 }
  }
}

registry "local" {
  address = "127.0.0.1:5000"
}

cluster "dev" {
  namespace = "default"
}

# The static binary every service image ships.
exec "compile" {
  command = ["go", "build", "-trimpath", "-buildvcs=false", "-o", "app/bin/svc", "app/main.go"]
  env     = { CGO_ENABLED = "0" }
  sources = ["app/*.go"]
}

module "svc" {
  source   = "./modules/service"
  for_each = var.services

  name     = each.key
  tag      = var.build_number
  port     = each.value.port
  replicas = each.value.replicas
  context  = "app"
  registry = registry.local
  cluster  = cluster.dev

  depends_on = [exec.compile]
}

output "images" {
  value = { for name, s in module.svc : name => s.image }
}

output "deployments" {
  value = [for s in module.svc : s.deployment]
}
