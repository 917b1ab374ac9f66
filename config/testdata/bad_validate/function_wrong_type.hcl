variable "names" {
  type = list(string)
}

exec "a" {
  command = ["echo", upper(var.names)] # ERROR: Invalid function argument
}
