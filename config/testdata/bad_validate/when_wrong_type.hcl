variable "names" {
  type = list(string)
}

exec "a" {
  when    = length(var.names) # ERROR: Invalid when argument
  command = ["true"]
}
