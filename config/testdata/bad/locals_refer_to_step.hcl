exec "version" {
  command = ["git", "describe"]
}

locals {
  version = exec.version.stdout # ERROR: Locals cannot refer to steps
}
