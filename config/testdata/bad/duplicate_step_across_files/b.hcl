exec "test" { # ERROR: Duplicate step
  command = ["false"]
}
