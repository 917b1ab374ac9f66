docker_build "app" {
  image     = "app"
  dockerfle = "Dockerfile" # ERROR: Unsupported argument
}
