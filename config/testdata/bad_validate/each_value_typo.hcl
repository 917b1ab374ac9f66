exec "svc" {
  for_each = {
    api = { name = "api", port = 8080 }
    web = { name = "web", port = 80 }
  }
  command = ["echo", each.value.nme] # ERROR: Unsupported attribute
}
