docker_build "app" {
  image = "app"
  tag   = git.sha # ERROR: Unsupported attribute
}
