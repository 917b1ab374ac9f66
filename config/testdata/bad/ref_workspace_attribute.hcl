docker_build "app" {
  image = "app"
  tag   = workspace.name # ERROR: Unsupported attribute
}
