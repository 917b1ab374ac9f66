exec "a" {
  command = [] # ERROR: Empty command
}
