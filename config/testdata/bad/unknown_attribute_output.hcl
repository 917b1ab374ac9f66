docker_build "app" {
  image = "app"
  ref   = "app:latest" # ERROR: Unsupported argument
}
