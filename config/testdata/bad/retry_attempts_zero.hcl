exec "flaky" {
  command = ["./flaky.sh"]
  retry {
    attempts = 0 # ERROR: Invalid retry attempts
  }
}
