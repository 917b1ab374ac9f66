variable "replicas" {
  type    = string
  default = "two"
}

k8s_scale "web" {
  name     = "web"
  replicas = var.replicas # ERROR: Incorrect attribute value type
}
