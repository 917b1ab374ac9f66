exec "n" {
  for_each = toset([1, 2]) # ERROR: Invalid for_each argument
  command  = ["echo", each.key]
}
