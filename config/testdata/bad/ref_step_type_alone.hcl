docker_run "x" {
  image = docker_build # ERROR: Invalid reference
}
