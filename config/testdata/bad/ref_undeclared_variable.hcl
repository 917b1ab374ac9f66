variable "build_number" { default = "dev" }

docker_build "app" {
  image = "app"
  tag   = var.build_numbr # ERROR: Reference to undeclared variable
}
