exec "greet" {
  for_each = ["a", "b"] # ERROR: Invalid for_each argument
  command  = ["echo", each.key]
}
