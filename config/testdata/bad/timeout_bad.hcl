k8s_wait "web" {
  kind      = "deployment"
  name      = "web"
  condition = "available"
  timeout   = "5 minutes" # ERROR: Invalid timeout
}
