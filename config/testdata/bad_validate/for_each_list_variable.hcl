variable "names" {
  type = list(string)
}

exec "greet" {
  for_each = var.names # ERROR: Invalid for_each argument
  command  = ["echo", each.key]
}
