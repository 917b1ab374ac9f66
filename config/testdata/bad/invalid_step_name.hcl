exec "run tests" { # ERROR: Invalid exec name
  command = ["true"]
}
