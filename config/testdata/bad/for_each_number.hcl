exec "greet" {
  for_each = 3 # ERROR: Invalid for_each argument
  command  = ["echo", each.key]
}
