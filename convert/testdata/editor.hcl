# Converted by `ansflow convert` from editor.yaml (pipeline "Cluster Rollout").
# Helm and manifest deploys to one namespace.

variable "config_api_token" {
  type      = string
  sensitive = true
}

variable "redis_password" {
  type      = string
  sensitive = true
}

cluster "default" {
  # Stored AnsFlow cluster 2: set kubeconfig and context to reach it (default: KUBECONFIG or ~/.kube/config, current context).
  namespace = "staging"
}

# Config (order 1)
k8s_deploy "config" {
  manifest = [{
    apiVersion = "v1"
    kind       = "ConfigMap"
    metadata = {
      name = "app-config"
    }
    data = {
      LOG_LEVEL = "info"
    }
    }, {
    apiVersion = "v1"
    kind       = "Secret"
    metadata = {
      name = "app-secret"
    }
    stringData = {
      api_token = var.config_api_token
    }
  }]
}

# Redis (order 2, AnsFlow step_type k8s_deploy)
exec "redis" {
  command = ["helm", "upgrade", "--install", "redis", "oci://registry-1.docker.io/bitnamicharts/redis", "--version", "19.0.1", "--namespace", "staging", "--create-namespace", "--set-json", format("%s=%s", "architecture", jsonencode("standalone")), "--set-json", format("%s=%s", "auth", jsonencode({
    password = var.redis_password
  }))]
  depends_on = [k8s_deploy.config]
}

# Wait Redis (order 3)
k8s_wait "wait_redis" {
  kind       = "statefulset"
  name       = "redis-master"
  condition  = "ready"
  timeout    = "600s"
  depends_on = [exec.redis]

  retry {
    attempts = 2
    delay    = "30s"
  }
}

# Smoke (order 4)
k8s_exec "smoke" {
  pod_selector = "app.kubernetes.io/name=redis"
  container    = "redis"
  command      = ["redis-cli", "ping"]
  depends_on   = [k8s_wait.wait_redis]
}
