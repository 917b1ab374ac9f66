exec "info" {
  command = ["echo", docker.host] # ERROR: Reference to undeclared docker block
}
