docker_build "app" {
  image = "x";  # ERROR: Invalid character # ERROR: Missing newline after argument
}
