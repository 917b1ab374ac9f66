exec "test" {
  command = ["true"]
  retyr { # ERROR: Unsupported block type
    attempts = 2
  }
}
