exec "x" {
  command = [var] # ERROR: Invalid reference
}
