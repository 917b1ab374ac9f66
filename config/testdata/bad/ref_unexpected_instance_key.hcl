docker_build "app" {
  image = "app"
}

docker_run "unit" {
  image = docker_build.app["a"].ref # ERROR: Unexpected instance key
}
