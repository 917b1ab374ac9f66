docker_build "app" {
  image "x" # ERROR: Invalid block definition
}
