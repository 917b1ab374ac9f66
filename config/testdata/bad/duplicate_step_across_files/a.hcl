exec "test" {
  command = ["true"]
}
