# Converted by `ansflow convert` from api.json (pipeline "Web App Release").
# Pipeline as AnsFlow's API returns it.

variable "unit_tests_npm_token" {
  type      = string
  sensitive = true
}

variable "build_number" {
  type = string
}

variable "registry_username" {
  type      = string
  sensitive = true
}

variable "registry_password" {
  type      = string
  sensitive = true
}

variable "deploy_env" {
  type = string
}

variable "deploy_production_db_password" {
  type      = string
  sensitive = true
}

variable "deploy_production_notify_url" {
  type      = string
  sensitive = true
}

registry "main" {
  address  = "registry.example.com"
  username = var.registry_username
  password = var.registry_password
}

notify "deploy_production" {
  # Converted from the notification_config of step Deploy Production.
  url = var.deploy_production_notify_url
  on  = ["success"]
}

# Checkout (order 1, AnsFlow step_type fetch_code)
exec "checkout" {
  command = ["git", "clone", "--branch", "main", "https://git.example.com/web.git"]
}

# Unit Tests (order 2, AnsFlow step_type test, parallel group checks)
exec "unit_tests" {
  command = ["sh", "-c", "npm ci && npm test"]
  env = {
    CI        = "true"
    NPM_TOKEN = var.unit_tests_npm_token
  }
  timeout    = "900s"
  depends_on = [exec.checkout]

  retry {
    attempts = 3
    delay    = "10s"
  }
}

# Security Scan (order 2, AnsFlow step_type security_scan, parallel group checks)
exec "security_scan" {
  command           = ["sh", "-c", "trivy fs --exit-code 1 ."]
  timeout           = "600s"
  continue_on_error = true
  depends_on        = [exec.checkout]
}

# Build Image (order 4)
docker_build "build_image" {
  image      = "web"
  tag        = var.build_number
  context    = "."
  dockerfile = "Dockerfile"
  build_args = {
    VERSION = git.commit
  }
  depends_on = [exec.unit_tests, exec.security_scan]
}

# Push Image (order 5)
docker_push "push_image" {
  image    = docker_build.build_image.ref
  registry = registry.main
}

# Deploy Production (order 6, AnsFlow step_type k8s_deploy)
exec "deploy_production" {
  when = git.branch == "main" && var.deploy_env == "production"
  command = ["helm", "upgrade", "--install", "web", "./charts/web", "--version", "1.4.2", "--namespace", "production", "--wait", "--atomic", "--timeout", "300s", "--values", join(",", ["values-prod.yaml"]), "--set-json", format("%s=%s", "image", jsonencode({
    repository = "registry.example.com/web"
  })), "--set-json", format("%s=%s", "dbPassword", jsonencode(var.deploy_production_db_password))]
  depends_on = [docker_push.push_image, exec.unit_tests]

  approval {
    approvers = ["alice", "bob"]
  }
}
