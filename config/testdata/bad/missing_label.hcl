docker_build { # ERROR: Missing name for docker_build
  image = "app"
}
