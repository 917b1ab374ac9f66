docker_build "app" {
  image = "x"
  image = "y" # ERROR: Attribute redefined
}
