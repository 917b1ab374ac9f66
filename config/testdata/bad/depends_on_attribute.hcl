exec "a" {
  command = ["true"]
}

exec "b" {
  command    = ["true"]
  depends_on = [exec.a.stdout] # ERROR: Invalid depends_on reference
}
