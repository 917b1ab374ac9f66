exec "check" {
  command = ["true"]
}

exec "deploy" {
  when    = exec.check.exit_code == 0 # ERROR: Invalid when argument
  command = ["true"]
}
