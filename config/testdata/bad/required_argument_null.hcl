docker_build "app" {
  image = null # ERROR: Missing required argument
}
