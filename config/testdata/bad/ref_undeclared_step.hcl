docker_build "app" {
  image = "app"
}

docker_run "unit" {
  image = docker_build.ap.ref # ERROR: Reference to undeclared step
}
