docker_build "app" {
  image = 'app' # ERROR: Invalid character # ERROR: Invalid expression
}
