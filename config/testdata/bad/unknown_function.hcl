docker_build "app" {
  image = uppr("app") # ERROR: Call to unknown function
}
