exec "a" {
  command = ["true"]
}

exec "b" {
  command    = ["true"]
  depends_on = exec.a # ERROR: Invalid depends_on
}
