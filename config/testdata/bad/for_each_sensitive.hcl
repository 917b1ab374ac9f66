variable "tokens" {
  type      = set(string)
  default   = ["a"]
  sensitive = true
}

exec "greet" {
  for_each = var.tokens # ERROR: Invalid for_each argument
  command  = ["echo", each.key]
}
