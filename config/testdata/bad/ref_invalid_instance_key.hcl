docker_build "app" {
  for_each = { api = "./api", web = "./web" }
  image    = each.key
  context  = each.value
}

docker_run "smoke" {
  image = docker_build.app["wbe"].ref # ERROR: Invalid instance key
}
