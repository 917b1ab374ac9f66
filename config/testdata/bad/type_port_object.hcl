k8s_deploy "web" {
  name  = "web"
  image = "nginx"
  ports = [{ name = "http" }] # ERROR: Incorrect attribute value type
}
