exec "flaky" {
  command = ["./flaky.sh"]
  retry {
    attempts = 3
    backoff  = 0.5 # ERROR: Invalid retry backoff
  }
}
