exec "x" {
  command = ["echo", 1 / "a"] # ERROR: Invalid operand
}
