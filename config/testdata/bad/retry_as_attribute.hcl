exec "flaky" {
  command = ["./flaky.sh"]
  retry   = { attempts = 3 } # ERROR: Unsupported argument
}
