docker_run "unit" { # ERROR: Missing required argument
  command = ["make", "test"]
}
