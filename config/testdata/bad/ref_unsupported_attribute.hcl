docker_build "app" {
  image = "app"
}

docker_run "unit" {
  image = docker_build.app.reff # ERROR: Unsupported attribute
}
