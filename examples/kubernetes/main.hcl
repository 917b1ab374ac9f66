# Deploys an app to the cluster KUBECONFIG points at (e.g. hack/testenv), and a
# worker from a kustomize overlay; checks the app from inside a pod, reads its
# logs, scales it on the main branch, and removes a leftover ConfigMap. See
# README.md.

variable "namespace" {
  type    = string
  default = "ansflow-example"
}

variable "image" {
  type    = string
  default = "registry.example/ansflow-example:1.0"
}

variable "version" {
  type    = string
  default = "1"
}

variable "production_branch" {
  type    = string
  default = "main"
}

locals {
  app = "ansflow-example"
}

cluster "local" {
  namespace = var.namespace
}

# The namespace, as a manifest.
k8s_deploy "namespace" {
  cluster = cluster.local
  manifest = [
    {
      apiVersion = "v1"
      kind       = "Namespace"
      metadata   = { name = var.namespace }
    },
  ]
}

k8s_deploy "app" {
  cluster   = cluster.local
  namespace = k8s_deploy.namespace.name
  name      = local.app
  image     = var.image
  replicas  = 2
  ports     = [{ container_port = 8080 }]
  env       = { VERSION = var.version }
  service   = { port = 80, target_port = 8080 }
}

# A kustomize overlay (k8s/overlays/example over k8s/base), built in
# process: a ConfigMap and a Deployment, applied and waited for. Editing a
# file of the overlay or its base plans an update.
k8s_deploy "worker" {
  cluster   = cluster.local
  namespace = k8s_deploy.namespace.name
  kustomize = "k8s/overlays/example"
}

k8s_wait "app" {
  cluster   = cluster.local
  namespace = k8s_deploy.app.namespace
  kind      = "deployment"
  name      = k8s_deploy.app.name
  condition = "available"
  timeout   = "120s"
}

k8s_exec "smoke" {
  cluster      = cluster.local
  namespace    = k8s_deploy.app.namespace
  pod_selector = k8s_deploy.app.selector
  container    = local.app
  command      = ["echo", "integration ok"]
  depends_on   = [k8s_wait.app]
}

k8s_logs "app" {
  cluster      = cluster.local
  namespace    = k8s_deploy.app.namespace
  pod_selector = k8s_deploy.app.selector
  tail_lines   = 20
  depends_on   = [k8s_exec.smoke]
}

k8s_scale "production" {
  when       = git.branch == var.production_branch
  cluster    = cluster.local
  namespace  = k8s_deploy.app.namespace
  kind       = "deploy"
  name       = k8s_deploy.app.name
  replicas   = 5
  depends_on = [k8s_exec.smoke]
}

# Removes ConfigMaps an older release left behind (made outside this
# pipeline; see README.md to make one). Nothing to delete is success.
k8s_delete "legacy_config" {
  cluster    = cluster.local
  namespace  = k8s_deploy.app.namespace
  kind       = "cm"
  selector   = "app=${local.app},generation=legacy"
  depends_on = [k8s_exec.smoke]
}

output "selector" { value = k8s_deploy.app.selector }
output "smoke" { value = k8s_exec.smoke.stdout }
output "deleted" { value = k8s_delete.legacy_config.deleted }
output "worker" { value = k8s_deploy.worker.name }
