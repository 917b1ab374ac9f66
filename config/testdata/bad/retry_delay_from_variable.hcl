variable "delay" { default = "soon" }

exec "flaky" {
  command = ["./flaky.sh"]
  retry {
    attempts = 3
    delay    = var.delay # ERROR: Invalid delay
  }
}
