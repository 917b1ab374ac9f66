exec "test" {
  command = ["true"]
}

exec "test" { # ERROR: Duplicate step
  command = ["false"]
}
