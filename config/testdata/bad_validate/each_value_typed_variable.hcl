variable "services" {
  type = map(object({ port = number }))
}

exec "svc" {
  for_each = var.services
  command  = ["echo", each.value.prot] # ERROR: Unsupported attribute
}
