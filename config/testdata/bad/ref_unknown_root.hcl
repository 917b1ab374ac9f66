docker_build "app" {
  image = vars.app # ERROR: Unknown variable
}
