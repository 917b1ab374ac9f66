registry "main" { address = "127.0.0.1:5000" }

locals {
  addr = registry.main.address # ERROR: Invalid reference
}
