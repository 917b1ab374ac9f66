registry "main" { # ERROR: Missing required argument
  username = "ci"
}
