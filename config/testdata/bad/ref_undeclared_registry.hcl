registry "main" { address = "127.0.0.1:5000" }

docker_push "app" {
  image    = "app:latest"
  registry = registry.mian # ERROR: Reference to undeclared registry
}
