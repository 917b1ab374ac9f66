exec "test" {
  command = "make test" # ERROR: Incorrect attribute value type
}
