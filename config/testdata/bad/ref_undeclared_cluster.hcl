k8s_scale "web" {
  cluster  = cluster.dev # ERROR: Reference to undeclared cluster
  name     = "web"
  replicas = 2
}
