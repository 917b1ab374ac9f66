exec "a" {
  command = ["true"]
  sources = [
    "src/*.go",
    "src/[abc", # ERROR: Invalid sources pattern
  ]
}
