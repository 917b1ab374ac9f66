docker_build "app" {
  image    = "app"
  no_cache = "yes please" # ERROR: Incorrect attribute value type
}
