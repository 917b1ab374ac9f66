docker_biuld "app" { # ERROR: Unsupported block type
  image = "app"
}
