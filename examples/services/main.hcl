# Three services built, tested, pushed and deployed by one module called with
# for_each, instead of three copies of the same five blocks. Needs the Docker
# Engine, the registry on 127.0.0.1:5000 and a cluster (KUBECONFIG); see
# README.md.

variable "namespace" {
  type    = string
  default = "ansflow-services"
}

variable "version" {
  type    = string
  default = "1"
}

registry "local" {
  address = "127.0.0.1:5000"
}

cluster "local" {
  namespace = var.namespace
}

# One static binary serves every service (examples/docker's app).
exec "compile" {
  command = ["go", "build", "-trimpath", "-buildvcs=false", "-o", "bin/app", "../docker/app"]
  env     = { CGO_ENABLED = "0" }
  sources = ["../docker/app/*.go"]
}

k8s_deploy "namespace" {
  cluster = cluster.local
  manifest = [
    {
      apiVersion = "v1"
      kind       = "Namespace"
      metadata   = { name = var.namespace }
    },
  ]
}

module "service" {
  source   = "./modules/service"
  for_each = { api = 8080, worker = 8081, web = 8082 }

  name      = each.key
  port      = each.value
  version   = var.version
  namespace = k8s_deploy.namespace.name

  depends_on = [exec.compile]
}

output "images" {
  value = { for name, s in module.service : name => s.image }
}
