docker_build "app" {
  image = "app"
  tag   = var.tag
}

k8s_deploy "app" {
  name     = "app"
  image    = docker_build.app.ref
  replicas = var.replicas
  manifest = yamldecode(templatefile("files/deploy.yaml.tpl", { name = "app", replicas = var.replicas }))
  labels   = { config_hash = filesha256("files/deploy.yaml.tpl") }
  env      = { CONFIG = jsonencode({ a = 1 }), README = trimspace(file("files/readme.txt")) }
}
