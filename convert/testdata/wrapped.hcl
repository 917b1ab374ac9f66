# Converted by `ansflow convert` from wrapped.yaml (pipeline "Microservice CI").

variable "default_notify_url" {
  type      = string
  sensitive = true
}

variable "repo_url" {
  type = string
}

variable "build_number" {
  type = string
}

variable "smoke_db_password" {
  type      = string
  sensitive = true
}

variable "notify_team_notify_url" {
  type      = string
  sensitive = true
}

notify "default" {
  # Converted from the pipeline's notification_config.
  url    = var.default_notify_url
  on     = ["failure"]
  format = "teams"
}

notify "notify_team" {
  # Converted from the notify step "Notify Team" (order 6).
  url    = var.notify_team_notify_url
  on     = ["success"]
  format = "slack"
}

# Clone (order 1, AnsFlow step_type git_clone)
exec "clone" {
  command = ["git", "clone", "--branch", git.branch, var.repo_url]
}

# Build API (order 2, parallel group build-all)
docker_build "build_api" {
  image      = "api"
  tag        = var.build_number
  depends_on = [exec.clone]
}

# Build Worker (order 2, parallel group build-all)
docker_build "build_worker" {
  image      = "worker"
  tag        = var.build_number
  dockerfile = "worker/Dockerfile"
  depends_on = [exec.clone]
}

# Smoke (order 4)
docker_run "smoke" {
  image   = docker_build.build_api.ref
  command = ["/app", "--selftest"]
  env = {
    DB_PASSWORD = var.smoke_db_password
    MODE        = "smoke"
  }
  depends_on = [docker_build.build_worker]
}

# Configure Hosts (order 5, AnsFlow step_type ansible)
exec "configure_hosts" {
  when = git.branch == "main"
  command = ["ansible-playbook", "-i", "inventories/staging", "--extra-vars", jsonencode({
    release = var.build_number
  }), "site.yml"]
  depends_on = [docker_run.smoke]
}
