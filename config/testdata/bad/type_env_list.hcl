exec "test" {
  command = ["make", "test"]
  env     = ["CI=1"] # ERROR: Incorrect attribute value type
}
