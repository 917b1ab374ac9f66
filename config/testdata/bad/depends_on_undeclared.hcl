exec "b" {
  command    = ["true"]
  depends_on = [exec.a] # ERROR: Reference to undeclared step
}
