docker_build "app" "extra" { # ERROR: Extraneous label for docker_build
  image = "app"
}
