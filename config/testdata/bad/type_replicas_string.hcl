k8s_scale "web" {
  name     = "web"
  replicas = "two" # ERROR: Incorrect attribute value type
}
