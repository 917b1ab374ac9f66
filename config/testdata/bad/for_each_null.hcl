exec "greet" {
  for_each = null # ERROR: Invalid for_each argument
  command  = ["echo", each.key]
}
