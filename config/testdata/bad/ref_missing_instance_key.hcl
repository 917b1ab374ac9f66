docker_build "app" {
  for_each = toset(["a", "b"])
  image    = each.key
}

docker_run "unit" {
  image = docker_build.app.ref # ERROR: Missing instance key
}
