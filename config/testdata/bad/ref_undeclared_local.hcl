locals { app = "my-app" }

docker_build "app" {
  image = local.ap # ERROR: Reference to undeclared local value
}
