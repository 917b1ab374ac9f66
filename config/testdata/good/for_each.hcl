variable "services" {
  type = map(object({
    port     = number
    replicas = optional(number, 1)
  }))
  default = {
    api = { port = 8080 }
    web = { port = 80, replicas = 2 }
  }
}

locals {
  regions = toset(["eu", "us"])
}

docker_build "svc" {
  for_each = var.services
  image    = "svc-${each.key}"
  build_args = {
    PORT = tostring(each.value.port)
  }
}

k8s_deploy "svc" {
  for_each = var.services
  name     = each.key
  image    = docker_build.svc[each.key].ref
  replicas = each.value.replicas
  ports    = [{ container_port = each.value.port }]
}

exec "smoke" {
  for_each   = local.regions
  command    = ["./smoke.sh", each.value, docker_build.svc["api"].ref]
  depends_on = [k8s_deploy.svc]
}

exec "report" {
  command = concat(["echo"], [for k, v in docker_build.svc : v.image_id])
  env     = { COUNT = tostring(length(values(exec.smoke))) }
}

output "refs" { value = { for k, b in docker_build.svc : k => b.ref } }
