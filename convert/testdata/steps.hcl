# Converted by `ansflow convert` from steps.json.

variable "registry_username" {
  type      = string
  sensitive = true
}

variable "registry_password" {
  type      = string
  sensitive = true
}

registry "main" {
  address  = "127.0.0.1:5001"
  username = var.registry_username
  password = var.registry_password
}

# Lint (order 1, AnsFlow step_type shell_command, parallel group g1)
exec "lint" {
  command = ["sh", "-c", "golangci-lint run ./..."]
}

# Vet (order 1, AnsFlow step_type script, parallel group g1)
exec "vet" {
  command = ["sh", "-c", "go vet ./..."]
  workdir = "src"
}

# Test (order 2, AnsFlow step_type test_execution)
exec "test" {
  when       = contains(["main", "release"], git.branch)
  command    = ["sh", "-c", "go test ./..."]
  depends_on = [exec.lint, exec.vet]
}

# Deploy (order 3, AnsFlow step_type custom)
exec "deploy" {
  command    = ["./deploy.sh", "--env", "staging"]
  depends_on = [exec.test]

  approval {
  }
}

# Pull Redis (order 3)
docker_pull "pull_redis" {
  image      = "redis:7"
  registry   = registry.main
  depends_on = [exec.test]
}
