docker_build "app" {
  image = # ERROR: Invalid expression
}
