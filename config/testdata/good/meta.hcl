ansflow {
  backend "kubernetes" {
    namespace = "ci"
  }
}

variable "env" {
  type    = string
  default = "dev"
  validation {
    condition     = contains(["dev", "prod"], var.env)
    error_message = "env must be dev or prod."
  }
}

variable "token" {
  type      = string
  sensitive = true
  default   = "s3cret"
}

exec "lint" {
  command           = ["make", "lint"]
  when              = var.env != "prod" && !git.dirty
  timeout           = 90
  continue_on_error = true
  retry {
    attempts = 3
    delay    = "1s"
    backoff  = 2
  }
}

exec "deploy" {
  command = ["./deploy.sh", var.env, workspace, tostring(run.number)]
  env     = { TOKEN = var.token, ROOT = path.root, HOME_DIR = env("HOME", "/root") }
  timeout = "5m"
}

output "token" {
  value     = var.token
  sensitive = true
}
